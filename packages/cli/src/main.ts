#!/usr/bin/env node
import { runCli } from './program.js';

process.exitCode = await runCli({ stdout: process.stdout, stderr: process.stderr, env: process.env }, process.argv.slice(2));
