//go:build !unix

package convert_test

// cpuSeconds is not measured here; benchmarks then omit their CPU metrics.
func cpuSeconds() float64 { return 0 }
