# bash completion for ndsipctl(8): its commands, each command's options, topology files and
# directories. Installed as share/bash-completion/completions/ndsipctl; works without the
# bash-completion package too (source it).

_ndsipctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local commands="validate plan push diff status rollback publish fleet-status reconnect reload
    certs renew enrol version list-commands help"
  local data="--policies --templates --help"
  local daemon="--socket --json --help"
  local etcd="--etcd --etcd-prefix --etcd-cacert --etcd-cert --etcd-key --etcd-user
    --etcd-password-file --etcd-timeout --help"
  COMPREPLY=()

  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "$commands --help" -- "$cur"))
    return
  fi

  # Values of options: files, directories, or nothing to offer.
  case $prev in
    --policies | --templates)
      _ndsipctl_files -d; return ;;
    --socket | --etcd-cacert | --etcd-cert | --etcd-key | --etcd-password-file | --trusted | --secret-file | \
    --vendor-cert | --vendor-key | --config | --cert | --key | --ca | --new-key)
      _ndsipctl_files -f; return ;;
    --node | --etcd | --etcd-prefix | --etcd-user | --etcd-timeout | --server | --identity | --subject | \
    --reference | --key-type | --timeout)
      return ;;
  esac

  local command=${COMP_WORDS[1]} options="" takes_file=0 word
  case $command in
    validate) options=$data; takes_file=1 ;;
    plan) options="--node --json --swanctl $data"; takes_file=1 ;;
    push | diff) options=$daemon; takes_file=1 ;;
    status) options="$daemon --fresh" ;;
    rollback)
      options="$daemon --etcd"
      for word in "${COMP_WORDS[@]}"; do
        [[ $word == --etcd || $word == --etcd=* ]] && options=$etcd
      done ;;
    publish) options="$etcd --dry-run --policies --templates"; takes_file=1 ;;
    fleet-status) options="$etcd --json" ;;
    reconnect | reload | certs | renew | version | list-commands) options=$daemon ;;
    enrol)
      options="--server --trusted --identity --subject --reference --secret-file --vendor-cert --vendor-key
        --config --cert --key --ca --new-key --key-type --timeout --force --help" ;;
    *) return ;;
  esac

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ $takes_file -eq 1 ]]; then
    _ndsipctl_files -f
  fi
}

# Files (-f) or directories (-d) matching the current word: bash-completion's _filedir when
# it is loaded (quoting, ~), compgen otherwise.
_ndsipctl_files() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if declare -F _filedir >/dev/null; then
    if [[ $1 == -d ]]; then _filedir -d; else _filedir; fi
  else
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    if [[ $1 == -d ]]; then COMPREPLY=($(compgen -d -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
  fi
}

complete -F _ndsipctl ndsipctl
