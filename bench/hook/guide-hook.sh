#!/usr/bin/env bash
# The kind of PreToolUse hook the guides show, for comparison: jq pulls out the command and a
# regular expression looks for a denied program at a command's start. It is not a defence (any
# wrapper or quoting walks past it); it is the cost baseline.
INPUT=$(cat)
CMD=$(printf '%s' "$INPUT" | jq -r '.tool_input.command // empty')
if printf '%s' "$CMD" | grep -Eq '(^|[;&|[:space:]])(curl|wget|nc|ssh|git[[:space:]]+push|gh[[:space:]]+gist)([[:space:]]|$)'; then
  printf '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"blocked"}}\n'
fi
exit 0
