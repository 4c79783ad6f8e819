#!/usr/bin/env node
// Upstream's tool name, kept as an alias of `kiln validate`.
import { runCli } from './main.js';

runCli(['validate']);
