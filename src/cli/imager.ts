#!/usr/bin/env node
// Upstream's tool name, kept as an alias of `kiln build`.
import { runCli } from './main.js';

runCli(['build']);
