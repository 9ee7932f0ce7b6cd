# Sourced by the benchmarks: `sign_in OUTBOX` signs a user up through the agent at $api,
# confirms it with the code the agent left in its outbox folder, logs in and sets `token`.
sign_in() {
  curl -sf -X POST "$api/authentication/signup" -H 'content-type: application/json' \
    -d '{"name":"Bench Mark","email":"bench@example.com","password":"benchmark password"}' > /dev/null
  local code
  code=$(grep -h '^X-Click-Token:' "$1/"*.eml | head -1 | tr -d '\r' | awk '{print $2}')
  curl -sf -X POST "$api/authentication/confirm_signup" -H 'content-type: application/json' \
    -d "{\"email\":\"bench@example.com\",\"token\":\"$code\"}" > /dev/null
  token=$(curl -sf -X POST "$api/authentication/login" -H 'content-type: application/json' \
    -d '{"username":"bench@example.com","password":"benchmark password","type":16}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["jwtToken"])')
}
