/**
 * `skiff completion bash|zsh`: a completion script generated from the command tree itself
 * (verbs, sub-verbs, each one's flags), so it never lists a verb or flag that does not exist.
 * `skiff why` completes pod/NAME and deployment/NAME through kubectl. zsh runs the same
 * function through bashcompinit.
 */
import type { Command } from 'commander';

function flagsOf(cmd: Command): string[] {
  const out = new Set<string>(['--help']);
  for (const o of cmd.options) {
    if (o.long) out.add(o.long);
    if (o.short) out.add(o.short);
  }
  return [...out].sort();
}

const word = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

/** The script for `shell`, from the commands registered on `program`. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const top = program.commands.filter((c) => c.name() !== 'help');
  const verbs = [...new Set(top.flatMap((c) => [c.name(), ...c.aliases()]))].sort();
  const cases: string[] = [];
  for (const c of top) {
    const names = [c.name(), ...c.aliases()].join('|');
    const subs = c.commands.map((s) => s.name());
    const lines = [`    ${names})`];
    if (subs.length) {
      lines.push(`      if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "${subs.join(' ')}" -- "$cur") ); return 0; fi`);
      lines.push('      case "${COMP_WORDS[2]}" in');
      for (const s of c.commands) lines.push(`        ${[s.name(), ...s.aliases()].join('|')}) opts="${flagsOf(s).join(' ')}" ;;`);
      lines.push('      esac');
    } else lines.push(`      opts="${flagsOf(c).join(' ')}"`);
    if (c.name() === 'why') {
      lines.push('      if [[ "$cur" != -* ]]; then COMPREPLY=( $(compgen -W "$(kubectl get pods,deployments,replicasets -o name 2>/dev/null | sed -e \'s#^deployment.apps/#deployment/#\' -e \'s#^replicaset.apps/#replicaset/#\')" -- "$cur") ); return 0; fi');
    }
    if (c.name() === 'completion') lines.push('      if [[ "$cur" != -* ]]; then COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ); return 0; fi');
    lines.push('      ;;');
    cases.push(lines.join('\n'));
  }
  const fn = `_skiff_${word('complete')}`;
  const body = `# skiff ${shell} completion: source <(skiff completion ${shell})
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${verbs.join(' ')} --help" -- "$cur") )
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "$opts" -- "$cur") ); return 0; fi
  COMPREPLY=( $(compgen -f -- "$cur") )
}
complete -o filenames -F ${fn} skiff
`;
  return shell === 'zsh' ? `autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${body}` : body;
}
