import { Argument, type Command } from 'commander';
import { bashCompletion, zshCompletion } from '../completion.js';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: kiln completion bash | zsh')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText(
      'after',
      `
Install:
  bash: kiln completion bash > /etc/bash_completion.d/kiln     (or in ~/.bashrc: source <(kiln completion bash))
  zsh:  kiln completion zsh > "\${fpath[1]}/_kiln"              (then restart zsh, or: autoload -U compinit && compinit)`,
    )
    .action((shell: 'bash' | 'zsh') => {
      // the root program: every verb and option, as registered
      let root: Command = program;
      while (root.parent) root = root.parent;
      process.stdout.write(shell === 'bash' ? bashCompletion(root) : zshCompletion(root));
    });
}
