package test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
	"github.com/keeper-azmon/keeper-azmon/internal/sourcetest"
)

// 2c. Every way Keeper events reach Fluent Bit (Keeper's syslog push,
// Commander's splunk, sumo and syslog-port exports), as the recipes'
// inputs and parser turn the senders' exact bytes into records, lands in
// the Keeper table as the same rows the cloud push gives: the Keeper
// columns, the event's own time in TimeGenerated and timestamp, and
// enterprise_id from the property where the export has none. Both Keeper
// streams are checked; the records arrive an hour after their events.
func TestKeeperSources(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	re, err := sourcetest.ParserRegex(filepath.Join(sourcetest.RecipeDir(), "parsers.conf"), "keeper-syslog")
	if err != nil {
		t.Fatal(err)
	}
	arrival := time.Date(2025, 3, 1, 1, 0, 0, 0, time.UTC)
	n := 0
	for _, stream := range []string{streamKeeper, streamMarketplace} {
		for _, src := range sourcetest.All() {
			t.Run(stream+"/"+src.Name, func(t *testing.T) {
				s.Reset()
				recs, lost, err := src.Records(re)
				if err != nil || lost != 0 {
					t.Fatalf("fixture: %v, %d lines lost", err, lost)
				}
				want, err := src.Want()
				if err != nil {
					t.Fatal(err)
				}
				var chunk []byte
				for _, r := range recs {
					chunk = chunktest.AppendEventV2(chunk, arrival, chunktest.Map{}, r)
				}
				n++
				id := "src" + strconv.Itoa(n)
				h.mustInstance(id, props(s, stream, prop{"enterprise_id", strconv.Itoa(sourcetest.EnterpriseID)}))
				if rc := h.flush(id, tag, chunk); rc != flbOK {
					t.Fatalf("flush: %s, want FLB_OK", rcName(rc))
				}
				sameRows(t, s.Rows(stream), want)
				if m := s.TypeMismatches(); m != 0 {
					t.Errorf("%d values did not fit their column's type", m)
				}
				h.ints("exitctx " + id)
			})
		}
	}
}

// sameRows requires got to equal want in order, row by row, as JSON values.
func sameRows(t *testing.T, got, want []map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := plainJSON(t, got[i]), plainJSON(t, want[i])
		if !reflect.DeepEqual(g, w) {
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			t.Errorf("row %d:\n got %s\nwant %s", i, gb, wb)
		}
	}
}

// plainJSON round-trips v through encoding/json, so that rows decoded by
// different readers compare alike (numbers as float64).
func plainJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
