#!/usr/bin/env bash
# keeper-azmon demo, no Azure account needed.
#
# Starts the local emulator of Entra ID and the Logs Ingestion API
# (keeper-azmon emulator), checks the generated configuration against it
# (keeper-azmon check), then ships the Keeper events of
# examples/keeper_events.jsonl: with Fluent Bit and the plugin when
# fluent-bit is installed (it needs out_keeper_azmon.so: run make first),
# else with `keeper-azmon send`, which drives the same plugin code.
# Finally it prints the rows that landed, as a Log Analytics query would,
# and stops everything.
#
# Environment: GO (go command, default go), FLUENT_BIT (path of the
# fluent-bit binary, default: from PATH), DEMO_SECONDS (longest wait for
# the rows, default 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
GO="${GO:-go}"
BIN="$ROOT/bin/keeper-azmon"
PLUGIN="$ROOT/out_keeper_azmon.so"
EVENTS="$ROOT/examples/keeper_events.jsonl"
WAIT_SECONDS="${DEMO_SECONDS:-10}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/keeper-azmon-demo.XXXXXX")"
EMU_PID=""
FB_PID=""

say() { printf '\n==> %s\n' "$*"; }

# stop_pid PID SIGNAL: signal a child of this script and wait for it.
stop_pid() {
	local pid="$1" sig="$2"
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "-$sig" "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

cleanup() {
	stop_pid "$FB_PID" TERM
	stop_pid "$EMU_PID" INT
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# rows: how many rows the emulator holds (lines of its rows file).
rows() {
	if [ -f "$WORK/rows.jsonl" ]; then
		wc -l <"$WORK/rows.jsonl" | tr -d ' '
	else
		echo 0
	fi
}

# wait_rows N: wait until the emulator holds N rows, at most WAIT_SECONDS.
wait_rows() {
	local want="$1" i=0
	while [ "$(rows)" -lt "$want" ] && [ "$i" -lt $((WAIT_SECONDS * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

say "building bin/keeper-azmon"
mkdir -p "$ROOT/bin"
"$GO" build -o "$BIN" ./cmd/keeper-azmon

if [ ! -s "$EVENTS" ]; then
	EVENTS="$WORK/keeper_events.jsonl"
	say "examples/keeper_events.jsonl not found: using the seed's sample events"
	cat >"$EVENTS" <<'EOF'
{"audit_event":"role_created","remote_address":"11.22.33.44","category":"policy","client_version":"EMConsole.17.0.0","username":"admin@example.com","enterprise_id":6557,"timestamp":"2025-01-12T00:03:44.743Z","role_id":"28162100560074"}
{"audit_event":"role_enforcement_changed","remote_address":"11.22.33.55","category":"policy","client_version":"EMConsole.17.0.0","timestamp":"2025-01-13T00:03:44.743Z","username":"admin@example.com","enterprise_id":6557,"role_id":"28162100560074","enforcement":"RESEND_ENTERPRISE_INVITE_IN_X_DAYS","value":"7"}
{"audit_event":"role_enforcement_changed","remote_address":"11.22.33.66","category":"policy","client_version":"EMConsole.17.0.0","timestamp":"2025-01-14T00:03:44.776Z","username":"admin@example.com","enterprise_id":6557,"role_id":"28162100560074","enforcement":"SEND_BREACH_WATCH_EVENTS","value":"ON"}
{"audit_event":"role_enforcement_changed","remote_address":"11.22.33.77","category":"policy","client_version":"EMConsole.17.0.0","timestamp":"2025-01-15T00:03:44.835Z","username":"admin@example.com","enterprise_id":6557,"role_id":"28162100560074","enforcement":"GENERATED_PASSWORD_COMPLEXITY","value":"[{\"domains\":[\"_default_\"],\"length\":20,\"lower-use\":false,\"lower-min\":5}]"}
{"audit_event":"audit_alert_sent","category":"usage","client_version":"Keeper Service.1.2.0","username":"ALERT","enterprise_id":6557,"timestamp":"2025-01-16T01:31:11.123Z","origin":"admin_permission_added","name":"XXX123","recipient":"admin@example.com,+19165551212","username_new":true,"client_version_new":true}
EOF
fi
LINES="$(grep -c '[^[:space:]]' "$EVENTS" || true)"

say "starting the emulator (Entra ID + Logs Ingestion API on 127.0.0.1)"
"$BIN" emulator -env-file "$WORK/emulator.env" -rows-file "$WORK/rows.jsonl" >"$WORK/emulator.out" 2>&1 &
EMU_PID=$!
i=0
while [ ! -s "$WORK/emulator.env" ]; do
	if ! kill -0 "$EMU_PID" 2>/dev/null || [ "$i" -ge 300 ]; then
		echo "the emulator did not start:" >&2
		cat "$WORK/emulator.out" >&2
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
sed -n '1,/^Press Ctrl-C/p' "$WORK/emulator.out"
set -a
# shellcheck disable=SC1091
. "$WORK/emulator.env"
set +a

# The configuration reads the emulator's settings from the environment,
# like fluent-bit.conf.example reads the real ones.
cat >"$WORK/parsers.conf" <<'EOF'
[PARSER]
    Name   json
    Format json
EOF
cat >"$WORK/fluent-bit.conf" <<EOF
[SERVICE]
    Flush        1
    Grace        2
    Log_Level    info
    Parsers_File $WORK/parsers.conf

[INPUT]
    Name             tail
    Tag              keeper.events
    Path             $EVENTS
    Parser           json
    Read_from_Head   true
    Refresh_Interval 1

[OUTPUT]
    Name           keeper_azmon
    Match          keeper.*
    workers        1
    tenant_id      \${KEEPER_AZMON_TENANT_ID}
    client_id      \${KEEPER_AZMON_CLIENT_ID}
    client_secret  \${KEEPER_AZMON_CLIENT_SECRET}
    authority_host \${KEEPER_AZMON_AUTHORITY_HOST}
    endpoint_url   \${KEEPER_AZMON_ENDPOINT_URL}
    ca_file        \${KEEPER_AZMON_CA_FILE}
    schema         keeper
EOF
say "generated $WORK/fluent-bit.conf"
sed -n '/^\[OUTPUT\]/,$p' "$WORK/fluent-bit.conf"

say "keeper-azmon check: validate, get a token, post one sample event"
EXPECTED="$LINES"
if "$BIN" check -c "$WORK/fluent-bit.conf"; then
	EXPECTED=$((LINES + 1))
else
	echo "(check failed with exit $?; continuing)"
fi

FLUENT_BIT="${FLUENT_BIT:-$(command -v fluent-bit || true)}"
if [ -n "$FLUENT_BIT" ] && [ -f "$PLUGIN" ]; then
	say "running Fluent Bit with the plugin on $EVENTS"
	"$FLUENT_BIT" -e "$PLUGIN" -c "$WORK/fluent-bit.conf" >"$WORK/fluent-bit.log" 2>&1 &
	FB_PID=$!
	wait_rows "$EXPECTED"
	stop_pid "$FB_PID" TERM
	FB_PID=""
	echo "Fluent Bit's lines from the plugin:"
	grep 'keeper_azmon' "$WORK/fluent-bit.log" | tail -n 10 || true
else
	if [ -z "$FLUENT_BIT" ]; then
		say "fluent-bit is not on PATH; install it from https://docs.fluentbit.io/manual/installation or use the Docker image; showing the same path with \`keeper-azmon send\` instead"
	else
		say "$PLUGIN not found (run make first); showing the same path with \`keeper-azmon send\` instead"
	fi
	"$BIN" send -c "$WORK/fluent-bit.conf" -tag keeper.events "$EVENTS" || echo "(send ended with exit $?)"
	wait_rows "$EXPECTED"
fi

say "stopping the emulator"
stop_pid "$EMU_PID" INT
EMU_PID=""
sed -n '/^=== Rows that landed/,$p' "$WORK/emulator.out"
if [ "$(rows)" -lt "$EXPECTED" ]; then
	echo "only $(rows) of $EXPECTED expected rows landed" >&2
	exit 1
fi
say "done: $(rows) rows landed ($LINES events and check's sample event)"
