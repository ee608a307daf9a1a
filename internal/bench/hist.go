package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// The latency histogram is log-linear, as HdrHistogram is: values below
// 2·subBuckets nanoseconds have a bucket each, and every power of two above
// is split into subBuckets equal parts, so a bucket is at most 1/64 (1.6%)
// wide relative to its values. Histograms of several workers merge by adding
// counts, which is why the workers send buckets rather than percentiles.
const (
	subBits    = 6
	subBuckets = 1 << subBits
	// maxExp covers values up to 2^(maxExp+subBits+1) ns, about 36 minutes.
	maxExp   = 34
	nBuckets = (maxExp + 2) * subBuckets
)

// hist counts durations. Record is safe for concurrent use.
type hist struct {
	counts [nBuckets]atomic.Uint64
	max    atomic.Int64
}

func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v>>e is in [subBuckets, 2·subBuckets)
	if e > maxExp {
		return nBuckets - 1
	}
	return (e+1)*subBuckets + int(v>>e) - subBuckets
}

// bucketHigh is the largest value that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	e := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return (m+1)<<e - 1
}

// Record adds one duration; negative durations (clock steps) count as 0.
func (h *hist) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(uint64(v))].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// snapshot returns the non-empty buckets as [index, count] pairs, the form
// in which workers report them.
func (h *hist) snapshot() histData {
	var d histData
	for i := range h.counts {
		if c := h.counts[i].Load(); c > 0 {
			d.Buckets = append(d.Buckets, [2]uint64{uint64(i), c})
		}
	}
	d.Max = h.max.Load()
	return d
}

// histData is a histogram in transit: sparse buckets and the exact maximum
// in nanoseconds.
type histData struct {
	Buckets [][2]uint64 `json:"buckets,omitempty"`
	Max     int64       `json:"max_ns"`
}

// merge adds o into d.
func (d *histData) merge(o histData) {
	if len(o.Buckets) == 0 {
		return
	}
	m := make(map[uint64]uint64, len(d.Buckets)+len(o.Buckets))
	for _, b := range d.Buckets {
		m[b[0]] += b[1]
	}
	for _, b := range o.Buckets {
		m[b[0]] += b[1]
	}
	d.Buckets = d.Buckets[:0]
	for i := uint64(0); i < nBuckets; i++ {
		if c := m[i]; c > 0 {
			d.Buckets = append(d.Buckets, [2]uint64{i, c})
		}
	}
	d.Max = max(d.Max, o.Max)
}

func (d histData) count() uint64 {
	var n uint64
	for _, b := range d.Buckets {
		n += b[1]
	}
	return n
}

// quantile returns the upper bound of the bucket holding quantile q (0–1),
// never more than the maximum; 0 for an empty histogram.
func (d histData) quantile(q float64) time.Duration {
	total := d.count()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	rank = min(max(rank, 1), total)
	var seen uint64
	for _, b := range d.Buckets {
		seen += b[1]
		if seen >= rank {
			return min(time.Duration(bucketHigh(int(b[0]))), time.Duration(d.Max))
		}
	}
	return time.Duration(d.Max)
}

// Percentiles are latencies in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func (d histData) percentiles() Percentiles {
	ms := func(t time.Duration) float64 { return float64(t) / float64(time.Millisecond) }
	return Percentiles{
		P50: ms(d.quantile(0.50)),
		P90: ms(d.quantile(0.90)),
		P99: ms(d.quantile(0.99)),
		Max: ms(time.Duration(d.Max)),
	}
}
