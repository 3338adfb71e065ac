#!/usr/bin/env node
import "../dist/director-feedback.js";
