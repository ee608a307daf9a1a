package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rate is a count per period, written "5/min"; "unlimited" turns the limit
// off. The periods are sec (s), min (m) and hour (h).
type Rate struct {
	N         int
	Per       time.Duration
	Unlimited bool
}

var ratePeriods = map[string]time.Duration{
	"sec": time.Second, "s": time.Second,
	"min": time.Minute, "m": time.Minute,
	"hour": time.Hour, "h": time.Hour,
}

// String gives the rate as it is written in the file: "5/min", "unlimited".
func (r Rate) String() string {
	if r.Unlimited {
		return "unlimited"
	}
	switch r.Per {
	case time.Second:
		return fmt.Sprintf("%d/sec", r.N)
	case time.Minute:
		return fmt.Sprintf("%d/min", r.N)
	case time.Hour:
		return fmt.Sprintf("%d/hour", r.N)
	}
	return fmt.Sprintf("%d/%s", r.N, Duration(r.Per))
}

// MarshalYAML writes the rate in its file form.
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

func (r *Rate) unmarshalNode(n *yaml.Node) error {
	bad := fmt.Errorf(`want a rate like "5/min" (per sec, min or hour) or "unlimited", got %s`, describe(n))
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	if n.Value == "unlimited" {
		*r = Rate{Unlimited: true}
		return nil
	}
	count, period, ok := strings.Cut(n.Value, "/")
	per, known := ratePeriods[period]
	num, err := strconv.Atoi(count)
	if !ok || !known || err != nil {
		return bad
	}
	if num <= 0 {
		return fmt.Errorf(`want a positive count in %q; "unlimited" turns the limit off`, n.Value)
	}
	*r = Rate{N: num, Per: per}
	return nil
}

// Size is a number of bytes, written as a plain number (65536) or with a
// binary unit: B, KiB, MiB, GiB ("256KiB").
type Size int64

// Size units.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

var sizeUnits = map[string]Size{"": 1, "B": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB}

// String gives the size with the largest unit that divides it: "256KiB".
func (s Size) String() string {
	for _, u := range []struct {
		name string
		n    Size
	}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if s != 0 && s%u.n == 0 {
			return fmt.Sprintf("%d%s", s/u.n, u.name)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalYAML writes the size in its file form.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

func (s *Size) unmarshalNode(n *yaml.Node) error {
	bad := fmt.Errorf(`want a size like "256KiB", "1MiB" or 65536 (units B, KiB, MiB, GiB), got %s`, describe(n))
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	v := strings.TrimSpace(n.Value)
	digits := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if digits < 0 {
		digits = len(v)
	}
	unit, ok := sizeUnits[strings.TrimSpace(v[digits:])]
	num, err := strconv.ParseInt(v[:digits], 10, 64)
	if !ok || err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("size %s is too large", describe(n))
		}
		return bad
	}
	if num > math.MaxInt64/int64(unit) {
		return fmt.Errorf("size %s is too large", describe(n))
	}
	*s = Size(num) * unit
	return nil
}

// Duration is a time.Duration written in Go syntax: "30s", "5m", "1h30m".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String gives d in Go syntax without trailing zero units: "5m", not "5m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalYAML writes the duration in its file form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d *Duration) unmarshalNode(n *yaml.Node) error {
	v, err := parseDuration(n, time.Duration(*d))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// parseDuration reads a non-negative Go duration; example is the current
// value, shown in the error.
func parseDuration(n *yaml.Node, example time.Duration) (time.Duration, error) {
	want := `want a duration like "30s" or "5m"`
	if example > 0 {
		want = fmt.Sprintf("want a duration like %q", Duration(example).String())
	}
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("%s, got %s", want, describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		if _, isNum := strconv.ParseFloat(n.Value, 64); isNum == nil {
			return 0, fmt.Errorf("%s, got %s (a duration needs a unit: ms, s, m, h)", want, describe(n))
		}
		return 0, fmt.Errorf("%s, got %s", want, describe(n))
	}
	if v < 0 {
		return 0, fmt.Errorf("%s, got %s (negative)", want, describe(n))
	}
	return v, nil
}
