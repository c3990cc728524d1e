package spannersim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A filter is the list filter language of the Spanner admin API (the subset
// of AIP-160 that ListBackups and ListBackupOperations document): comparisons
// `field op value` with op one of < > <= >= != = : (":" is "contains", and
// "field:*" means "has a value"), combined with parentheses, AND, OR (which
// binds tighter than AND) and NOT; juxtaposed expressions are ANDed. Matching is case-insensitive. Values that
// both parse as RFC 3339 timestamps compare as times, as integers numerically.
type filter interface {
	match(fields map[string]string) bool
}

type cmpFilter struct{ field, op, value string }
type andFilter struct{ l, r filter }
type orFilter struct{ l, r filter }
type notFilter struct{ f filter }
type trueFilter struct{}

func (trueFilter) match(map[string]string) bool    { return true }
func (f andFilter) match(m map[string]string) bool { return f.l.match(m) && f.r.match(m) }
func (f orFilter) match(m map[string]string) bool  { return f.l.match(m) || f.r.match(m) }
func (f notFilter) match(m map[string]string) bool { return !f.f.match(m) }

func (f cmpFilter) match(m map[string]string) bool {
	got, ok := m[f.field]
	if f.op == ":" {
		if f.value == "*" {
			return ok && got != ""
		}
		return ok && strings.Contains(strings.ToLower(got), strings.ToLower(f.value))
	}
	if !ok {
		return f.op == "!="
	}
	c := compare(got, f.value)
	switch f.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	}
	return false
}

func compare(a, b string) int {
	if ta, err := time.Parse(time.RFC3339Nano, a); err == nil {
		if tb, err := time.Parse(time.RFC3339Nano, b); err == nil {
			return ta.Compare(tb)
		}
	}
	if ia, err := strconv.ParseInt(a, 10, 64); err == nil {
		if ib, err := strconv.ParseInt(b, 10, 64); err == nil {
			switch {
			case ia < ib:
				return -1
			case ia > ib:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// parseFilter parses expr; known lists the fields that may be filtered on.
func parseFilter(expr string, known map[string]bool) (filter, error) {
	p := &filterParser{s: expr, known: known}
	p.skip()
	if p.eof() {
		return trueFilter{}, nil
	}
	f, err := p.and()
	if err != nil {
		return nil, err
	}
	p.skip()
	if !p.eof() {
		return nil, fmt.Errorf("invalid filter %q: unexpected %q at offset %d", expr, p.s[p.i:], p.i)
	}
	return f, nil
}

type filterParser struct {
	s     string
	i     int
	known map[string]bool
}

func (p *filterParser) eof() bool { return p.i >= len(p.s) }

func (p *filterParser) skip() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

// keyword consumes kw (case-insensitive) when it stands alone at the cursor.
func (p *filterParser) keyword(kw string) bool {
	p.skip()
	end := p.i + len(kw)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], kw) {
		return false
	}
	if end < len(p.s) && !unicode.IsSpace(rune(p.s[end])) && p.s[end] != '(' {
		return false
	}
	p.i = end
	return true
}

// and parses a conjunction of disjunctions: as AIP-160 specifies (and the
// Spanner docs' examples rely on), OR binds tighter than AND, so
// "a OR b AND c" is "(a OR b) AND c".
func (p *filterParser) and() (filter, error) {
	l, err := p.or()
	if err != nil {
		return nil, err
	}
	for {
		p.skip()
		if p.eof() || p.s[p.i] == ')' {
			return l, nil
		}
		p.keyword("AND")
		r, err := p.or()
		if err != nil {
			return nil, err
		}
		l = andFilter{l, r}
	}
}

func (p *filterParser) or() (filter, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = orFilter{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (filter, error) {
	p.skip()
	if p.keyword("NOT") {
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notFilter{f}, nil
	}
	if !p.eof() && p.s[p.i] == '-' {
		p.i++
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notFilter{f}, nil
	}
	if !p.eof() && p.s[p.i] == '(' {
		p.i++
		f, err := p.and()
		if err != nil {
			return nil, err
		}
		p.skip()
		if p.eof() || p.s[p.i] != ')' {
			return nil, fmt.Errorf("invalid filter %q: missing ')'", p.s)
		}
		p.i++
		return f, nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() (filter, error) {
	p.skip()
	start := p.i
	for p.i < len(p.s) {
		c := rune(p.s[p.i])
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '.' || c == '@' {
			p.i++
			continue
		}
		break
	}
	field := strings.ToLower(p.s[start:p.i])
	if field == "" {
		return nil, fmt.Errorf("invalid filter %q: expected a field name at offset %d", p.s, start)
	}
	if !p.known[field] {
		return nil, fmt.Errorf("invalid filter %q: field %q cannot be filtered on", p.s, field)
	}
	p.skip()
	var op string
	for _, candidate := range []string{"<=", ">=", "!=", "=", "<", ">", ":"} {
		if strings.HasPrefix(p.s[p.i:], candidate) {
			op = candidate
			break
		}
	}
	if op == "" {
		return nil, fmt.Errorf("invalid filter %q: expected a comparison operator after %q", p.s, field)
	}
	p.i += len(op)
	p.skip()
	var value string
	if !p.eof() && p.s[p.i] == '"' {
		end := strings.IndexByte(p.s[p.i+1:], '"')
		if end < 0 {
			return nil, fmt.Errorf("invalid filter %q: unterminated string", p.s)
		}
		value = p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
	} else {
		vs := p.i
		for p.i < len(p.s) && !unicode.IsSpace(rune(p.s[p.i])) && p.s[p.i] != ')' {
			p.i++
		}
		value = p.s[vs:p.i]
	}
	if value == "" {
		return nil, fmt.Errorf("invalid filter %q: missing value for %q", p.s, field)
	}
	return cmpFilter{field: field, op: op, value: value}, nil
}
