#!/usr/bin/env node
import "../dist/director-agent.js";
