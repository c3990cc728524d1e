package provider

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads the value of an HTTP Retry-After header (RFC 9110,
// section 10.2.3) as the wait before the next attempt, relative to now:
//
//   - delay-seconds, "120": that many seconds. A decimal fraction ("1.5") is
//     accepted as well, since some gateways send one;
//   - an HTTP-date, "Wed, 21 Oct 2015 07:28:00 GMT" (or the two obsolete
//     forms http.ParseTime reads): the time left until then, zero when it has
//     passed.
//
// ok is false, and the duration zero, for an empty value, a negative or
// signed number, exponents, NaN and infinities, a number of seconds too large
// for a time.Duration, and anything else that is neither form: a hint that
// cannot be read is no hint. Every driver reads Retry-After through this
// function, so all of them honour the same hints the same way.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, false
	}
	if isDecimal(v) {
		secs, err := strconv.ParseFloat(v, 64) // only digits and a point: no sign, exponent, NaN or hex
		if err != nil || secs*float64(time.Second) >= math.MaxInt64 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if !t.After(now) {
		return 0, true
	}
	return t.Sub(now), true
}

// isDecimal reports whether v is digits, optionally followed by a point and
// more digits: no sign, no exponent, no spaces.
func isDecimal(v string) bool {
	intPart, frac, hasPoint := strings.Cut(v, ".")
	return allDigits(intPart) && (!hasPoint || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
