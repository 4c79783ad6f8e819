#!/usr/bin/env node
// Upstream's tool name, kept as an alias of `kiln iso`.
import { runCli } from './main.js';

runCli(['iso']);
