package plugin

import (
	"fmt"
	"strconv"

	"github.com/keeper-azmon/keeper-azmon/azmon"
)

// Metrics is a registry the instance adds its series to: Fluent Bit's
// metrics context of the instance (cmetrics), or a stand-in in tests. A
// series is namespace_subsystem_name with the given label keys; Add and
// Observe take the label values in the same order.
type Metrics interface {
	Counter(namespace, subsystem, name, help string, labels []string) (Counter, error)
	Histogram(namespace, subsystem, name, help string, buckets []float64, labels []string) (Histogram, error)
}

// Counter is a monotonic counter with labels.
type Counter interface {
	Add(v float64, labelValues ...string)
}

// Histogram counts observations into buckets, with labels.
type Histogram interface {
	Observe(v float64, labelValues ...string)
}

// The instance's series, in Fluent Bit's naming: fluentbit_keeper_azmon_<name>.
const (
	MetricsNamespace = "fluentbit"
	MetricsSubsystem = Name

	MetricRequests        = "requests_total"
	MetricRecords         = "records_total"
	MetricBytes           = "bytes_total"
	MetricTokenRequests   = "token_requests_total"
	MetricRequestDuration = "request_duration_seconds"
)

// RequestDurationBuckets returns the upper bounds, in seconds, of the
// request duration histogram: a healthy request takes tens to hundreds of
// milliseconds; the top buckets catch throttled and timed-out ones.
func RequestDurationBuckets() []float64 {
	return []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
}

// Label values of the instance's series.
const (
	ResultAccepted = "accepted" // records_total: the service answered 2xx for them
	ResultDropped  = "dropped"  // records_total: dropped on purpose (cannot be converted, rejected, too large)
	ResultOK       = "ok"       // token_requests_total: a token came
	ResultError    = "error"    // token_requests_total: none came
	StatusError    = "error"    // requests_total: no HTTP answer (timeout, reset, TLS)
	KindJSON       = "json"     // bytes_total: uncompressed JSON the service accepted
	KindWire       = "wire"     // bytes_total: request bodies as sent, every attempt
)

// instanceMetrics holds an instance's series and counts into them. It is the
// Observer of the instance's clients. A nil *instanceMetrics counts nothing.
type instanceMetrics struct {
	name     string
	requests Counter   // name, stream, status
	records  Counter   // name, stream, result
	bytes    Counter   // name, kind
	tokens   Counter   // name, result
	duration Histogram // name
}

// newInstanceMetrics creates the instance's series in m, labelled name.
func newInstanceMetrics(m Metrics, name string) (*instanceMetrics, error) {
	im := &instanceMetrics{name: name}
	var err error
	counter := func(dst *Counter, metric, help string, labels ...string) {
		if err == nil {
			*dst, err = m.Counter(MetricsNamespace, MetricsSubsystem, metric, help, append([]string{"name"}, labels...))
			if err != nil {
				err = fmt.Errorf("metric %s: %w", metric, err)
			}
		}
	}
	counter(&im.requests, MetricRequests, "HTTP attempts to the Logs Ingestion API, by HTTP status (error: no answer).", "stream", "status")
	counter(&im.records, MetricRecords, "Records by result: accepted by the service, or dropped on purpose.", "stream", "result")
	counter(&im.bytes, MetricBytes, "Bytes: json (accepted, uncompressed) and wire (sent, every attempt).", "kind")
	counter(&im.tokens, MetricTokenRequests, "Token requests to Entra ID, by result.", "result")
	if err != nil {
		return nil, err
	}
	im.duration, err = m.Histogram(MetricsNamespace, MetricsSubsystem, MetricRequestDuration,
		"Duration of HTTP attempts to the Logs Ingestion API.", RequestDurationBuckets(), []string{"name"})
	if err != nil {
		return nil, fmt.Errorf("metric %s: %w", MetricRequestDuration, err)
	}
	return im, nil
}

// Attempt counts one HTTP attempt (azmon.Observer).
func (m *instanceMetrics) Attempt(a azmon.Attempt) {
	if m == nil {
		return
	}
	status := StatusError
	if a.Status != 0 {
		status = strconv.Itoa(a.Status)
	}
	m.requests.Add(1, m.name, a.Stream, status)
	m.bytes.Add(float64(a.WireBytes), m.name, KindWire)
	m.duration.Observe(a.Duration.Seconds(), m.name)
}

// Token counts one token request (azmon.Observer).
func (m *instanceMetrics) Token(err error) {
	if m == nil {
		return
	}
	result := ResultOK
	if err != nil {
		result = ResultError
	}
	m.tokens.Add(1, m.name, result)
}

// settled counts what a Send to one stream settled: records accepted and
// dropped, and the JSON bytes accepted.
func (m *instanceMetrics) settled(stream string, c azmon.Counts) {
	if m == nil {
		return
	}
	if c.Accepted > 0 {
		m.records.Add(float64(c.Accepted), m.name, stream, ResultAccepted)
		m.bytes.Add(float64(c.Bytes), m.name, KindJSON)
	}
	m.skipped(stream, c.Dropped())
}

// skipped counts records dropped on purpose.
func (m *instanceMetrics) skipped(stream string, n int) {
	if m != nil && n > 0 {
		m.records.Add(float64(n), m.name, stream, ResultDropped)
	}
}
