#!/usr/bin/env node
import "../dist/vsadm.js";
