#!/usr/bin/env node
// Upstream's tool name, kept as an alias of `kiln roast`.
import { runCli } from './main.js';

runCli(['roast']);
