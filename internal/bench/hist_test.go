package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1e6, 1e9, 1e12} {
		b := bucketOf(v)
		if b < prev {
			t.Errorf("bucketOf(%d) = %d, below the bucket of a smaller value (%d)", v, b, prev)
		}
		prev = b
		if hi := bucketHigh(b); hi < v || (v >= 128 && float64(hi-v) > float64(v)/subBuckets) {
			t.Errorf("value %d: bucket %d ends at %d, want at most 1/%d above", v, b, hi, subBuckets)
		}
		if b > 0 && bucketHigh(b-1) >= v {
			t.Errorf("value %d: previous bucket %d ends at %d", v, b-1, bucketHigh(b-1))
		}
	}
}

func TestQuantilesAndMerge(t *testing.T) {
	var a, b hist
	var all []time.Duration
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		d := time.Duration(r.ExpFloat64() * float64(time.Millisecond))
		all = append(all, d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	slices.Sort(all)
	m := a.snapshot()
	m.merge(b.snapshot())
	if m.count() != uint64(len(all)) {
		t.Fatalf("merged count %d, want %d", m.count(), len(all))
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := all[int(q*float64(len(all)))-1]
		got := m.quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subBuckets+1000 {
			t.Errorf("q%.2f = %v, exact %v", q, got, exact)
		}
	}
	if time.Duration(m.Max) != all[len(all)-1] {
		t.Errorf("max %v, want %v", time.Duration(m.Max), all[len(all)-1])
	}
	if (histData{}).quantile(0.5) != 0 {
		t.Error("empty histogram: want 0")
	}
}
