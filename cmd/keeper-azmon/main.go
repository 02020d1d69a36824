// Command keeper-azmon is the operator's tool for the keeper_azmon Fluent Bit
// output plugin (Keeper Security audit events and other logs to Microsoft
// Sentinel / Azure Monitor through the Logs Ingestion API).
//
//	keeper-azmon check -c fluent-bit.conf     validate, get a token, post one sample event, explain
//	keeper-azmon send -c fluent-bit.conf EVENTS.jsonl   send JSON lines through the plugin
//	keeper-azmon emulator                     a local Entra ID + Logs Ingestion API for demos
//
// It uses the plugin's own packages (plugin, convert, azmon): what check and
// send do is what the plugin does inside Fluent Bit. Run `keeper-azmon help`
// for the usage and the exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/keeper-azmon/keeper-azmon/internal/fbconfig"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// Exit codes of check and send, for scripts.
const (
	exitOK          = 0   // the sample event / every event was accepted
	exitConfig      = 1   // configuration or command line invalid
	exitToken       = 2   // no token: Entra ID (or the identity endpoint) refused
	exitRefused     = 3   // the Logs Ingestion API answered with an error
	exitNetwork     = 4   // DNS, connection, TLS or timeout
	exitPartial     = 5   // send: delivered, but bad lines were skipped or records dropped
	exitInterrupted = 130 // send: stopped by Ctrl-C / SIGTERM
)

const usageText = `keeper-azmon: operator tool for the keeper_azmon Fluent Bit output
(Keeper Security audit events -> Microsoft Sentinel / Azure Monitor, Logs Ingestion API)

Usage:
  keeper-azmon check -c FILE [-output NAME|INDEX] [-q | -json] [-v]
      Read the keeper_azmon [OUTPUT] of a Fluent Bit configuration (classic .conf
      with @INCLUDE/@SET/${VAR}, or YAML), validate it, get a token, post ONE sample
      Keeper event (audit_event "keeper_azmon_check") and explain the result.
        -q      one line only            -json   one JSON object (for machines)
        -v      the plugin's own log lines on stderr

  keeper-azmon send -c FILE [-output NAME|INDEX] [flags] EVENTS.jsonl|-
      Send JSON lines (one object a line; - reads stdin) through the plugin exactly
      as Fluent Bit would: msgpack chunks, FLB_RETRY retried with backoff.
        -tag TAG            Fluent Bit tag (default keeper.events)
        -chunk-bytes N      chunk size (default 2097152, Fluent Bit's usual 2 MiB)
        -retries N          retries of a chunk answered FLB_RETRY (default 5)
        -retry-wait D       first wait between retries, doubling (default 1s)
        -q                  no progress, summary only      -v   the plugin's info log

  keeper-azmon emulator [-stream NAME] [-env-file FILE] [-rows-file FILE] [-q]
      Run a local emulator of Entra ID and the Logs Ingestion API (HTTPS on
      127.0.0.1, random port, its own CA) until Ctrl-C; print what to configure
      and a ready [OUTPUT]; on exit print the rows that landed, per stream.
        -stream NAME        stream for the printed snippet (default Custom-KeeperLogs_CL)
        -env-file FILE      write KEEPER_AZMON_* variables for: set -a; . FILE
        -rows-file FILE     keep the landed rows there as JSON lines, as they land

  keeper-azmon version
  keeper-azmon help [COMMAND]

-output picks one of several keeper_azmon outputs: its index (0, 1, ...), its
instance name (keeper_azmon.1) or its Alias.

Exit codes (check and send):
  0    ok: the sample event (check) or every event (send) was accepted
  1    configuration or command line invalid; the message names the property
  2    no token: Entra ID or the identity endpoint refused the credentials
  3    ingestion refused: the Logs Ingestion API answered with an error
  4    network: DNS, connection, proxy, TLS or timeout (to Entra ID or the endpoint)
  5    send: delivered, but some lines were bad (skipped) or records dropped
  130  send: interrupted
`

// app is one run of the command: its streams and environment (tests
// replace them).
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches a command line and returns the exit code.
func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usageText)
		return exitConfig
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return a.check(ctx, rest)
	case "send":
		return a.send(ctx, rest)
	case "emulator":
		return a.emulator(ctx, rest)
	case "version", "-version", "--version":
		fmt.Fprintln(a.stdout, versionString())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, usageText)
		return exitOK
	}
	fmt.Fprintf(a.stderr, "keeper-azmon: unknown command %q\n\n%s", cmd, usageText)
	return exitConfig
}

// versionString is the plugin version with the build's commit and Go version.
func versionString() string {
	s := "keeper-azmon " + plugin.Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				dirty = kv.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			s += " (" + rev + ")"
		}
	}
	return s + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// newFlags returns a flag set for a command that reports to stderr.
func (a *app) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("keeper-azmon "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "usage of keeper-azmon %s (see keeper-azmon help):\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, which it returns.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError reports a bad command line; -h is not an error.
func (a *app) flagError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitConfig
}

// loadOutput reads the configuration file and picks the keeper_azmon output.
func (a *app) loadOutput(file, spec string) (*fbconfig.Config, fbconfig.Output, error) {
	if file == "" {
		return nil, fbconfig.Output{}, errors.New("no configuration: give -c FILE (a fluent-bit .conf or .yaml)")
	}
	cfg, err := fbconfig.Load(file, a.getenv)
	if err != nil {
		return nil, fbconfig.Output{}, err
	}
	out, err := cfg.Pick(spec)
	if err != nil {
		return nil, fbconfig.Output{}, err
	}
	return cfg, out, nil
}

// unsetNote explains a property whose ${VAR} had no value, "" if none.
func unsetNote(out fbconfig.Output, prop string) string {
	vars := out.UnsetVars()[strings.ToLower(prop)]
	if len(vars) == 0 {
		return ""
	}
	refs := make([]string, len(vars))
	for i, v := range vars {
		refs[i] = "${" + v + "}"
	}
	return fmt.Sprintf("%s comes from %s, which is not set (or empty) in the environment", prop, strings.Join(refs, ", "))
}
