// `drawbridge completion bash|zsh`: a completion script for the shell, built from every
// command's own --help (help-pages.ts). Commands and their options complete; after an option
// or for a word that is not one, files do (modules, snapshots, manifests).
//
//   source <(drawbridge completion bash)      # or save it in /etc/bash_completion.d/drawbridge
//   source <(drawbridge completion zsh)       # zsh, through its bash completion layer

import { helpPages, type Main } from './help-pages.ts';
import type { CommandIo } from './manifest-command.ts';

const USAGE = `usage: drawbridge completion bash|zsh

Prints a shell completion script for drawbridge's commands and their options:
  source <(drawbridge completion bash)    # in ~/.bashrc, or save it as /etc/bash_completion.d/drawbridge
  source <(drawbridge completion zsh)     # in ~/.zshrc (zsh's bashcompinit runs it)`;

export async function completionCommand(argv: string[], io: CommandIo, main: Main): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h') {
    io.out(USAGE);
    return 0;
  }
  if (argv.length !== 1 || (argv[0] !== 'bash' && argv[0] !== 'zsh')) {
    io.err(`drawbridge completion: expected bash or zsh\n${USAGE}`);
    return 2;
  }
  io.out(await completionScript(argv[0], main));
  return 0;
}

export async function completionScript(shell: 'bash' | 'zsh', main: Main): Promise<string> {
  const { pages } = await helpPages(main);
  const cases = pages.map((p) => `    ${p.command}) opts=${quote(p.options.join(' '))} ;;`).join('\n');
  const commands = pages.map((p) => p.command).join(' ');
  const runOptions = pages.find((p) => p.command === 'run')!.options.join(' ');
  const bash = `_drawbridge() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} opts
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${quote(`${commands} help --help --version`)} -- "$cur") $(compgen -f -X '!*.wasm' -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
    *) opts=${quote(runOptions)} ;; # drawbridge MODULE.wasm ...: run
  esac
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$opts" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -o filenames -F _drawbridge drawbridge`;
  if (shell === 'bash') return `# drawbridge completion for bash: source <(drawbridge completion bash)\n${bash}`;
  return `#compdef drawbridge
# drawbridge completion for zsh: source <(drawbridge completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash}`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
