package deploy_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A strict checker for the PromQL the alerting rules use. Prometheus's own
// parser (github.com/prometheus/prometheus/promql/parser) is not a
// dependency and would pull in the whole server module, so this is a small
// recursive-descent parser of the language's grammar and types: selectors
// with matchers, ranges and offsets; aggregations with by/without;
// functions with their argument types; binary operators with precedence,
// bool, on/ignoring and group_left/group_right. Anything outside that
// subset is an error, never skipped, and every selector's metric name is
// collected.

type promType int

const (
	promScalar promType = iota
	promVector
	promMatrix
	promString
)

func (t promType) String() string {
	return [...]string{"scalar", "instant vector", "range vector", "string"}[t]
}

type promTokenKind int

const (
	tokEOF promTokenKind = iota
	tokIdent
	tokNumber
	tokDuration
	tokString
	tokOp
	tokPunct // ( ) { } [ ] ,
)

type promToken struct {
	kind promTokenKind
	text string
	pos  int
}

func promLex(expr string) ([]promToken, error) {
	var toks []promToken
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // comment to end of line
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '_' || c == ':' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(expr) && (expr[j] == '_' || expr[j] == ':' || unicode.IsLetter(rune(expr[j])) || unicode.IsDigit(rune(expr[j]))) {
				j++
			}
			toks = append(toks, promToken{tokIdent, expr[i:j], i})
			i = j
		case unicode.IsDigit(rune(c)) || c == '.' && i+1 < len(expr) && unicode.IsDigit(rune(expr[i+1])):
			j := i
			for j < len(expr) && (unicode.IsDigit(rune(expr[j])) || expr[j] == '.') {
				j++
			}
			if j < len(expr) && (expr[j] == 'e' || expr[j] == 'E') && j+1 < len(expr) && (unicode.IsDigit(rune(expr[j+1])) || expr[j+1] == '-' || expr[j+1] == '+') {
				j += 2
				for j < len(expr) && unicode.IsDigit(rune(expr[j])) {
					j++
				}
			}
			kind := tokNumber
			if j < len(expr) && unicode.IsLetter(rune(expr[j])) { // 5m, 1h30m, 250ms
				for j < len(expr) && (unicode.IsLetter(rune(expr[j])) || unicode.IsDigit(rune(expr[j]))) {
					j++
				}
				kind = tokDuration
				if _, err := model.ParseDuration(expr[i:j]); err != nil {
					return nil, fmt.Errorf("at %d: %q is not a duration: %w", i, expr[i:j], err)
				}
			}
			toks = append(toks, promToken{kind, expr[i:j], i})
			i = j
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for ; j < len(expr) && expr[j] != c; j++ {
				if expr[j] == '\\' && c != '`' {
					j++
				}
			}
			if j >= len(expr) {
				return nil, fmt.Errorf("at %d: unterminated string", i)
			}
			toks = append(toks, promToken{tokString, expr[i : j+1], i})
			i = j + 1
		case strings.ContainsRune("(){}[],", rune(c)):
			toks = append(toks, promToken{tokPunct, string(c), i})
			i++
		default:
			op := ""
			for _, o := range []string{"==", "!=", ">=", "<=", "=~", "!~", "+", "-", "*", "/", "%", "^", ">", "<", "="} {
				if strings.HasPrefix(expr[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("at %d: unexpected character %q", i, c)
			}
			toks = append(toks, promToken{tokOp, op, i})
			i += len(op)
		}
	}
	return append(toks, promToken{kind: tokEOF, pos: len(expr)}), nil
}

var (
	promAggregations = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "count": true, "group": true,
		"stddev": true, "stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true}
	// promFunctions are argument types and result type; a trailing
	// optional argument is marked by optionalFrom.
	promFunctions = map[string]struct {
		args         []promType
		optionalFrom int
		result       promType
	}{
		"rate": {[]promType{promMatrix}, 1, promVector}, "irate": {[]promType{promMatrix}, 1, promVector},
		"increase": {[]promType{promMatrix}, 1, promVector}, "delta": {[]promType{promMatrix}, 1, promVector},
		"idelta": {[]promType{promMatrix}, 1, promVector}, "deriv": {[]promType{promMatrix}, 1, promVector},
		"changes": {[]promType{promMatrix}, 1, promVector}, "resets": {[]promType{promMatrix}, 1, promVector},
		"avg_over_time": {[]promType{promMatrix}, 1, promVector}, "min_over_time": {[]promType{promMatrix}, 1, promVector},
		"max_over_time": {[]promType{promMatrix}, 1, promVector}, "sum_over_time": {[]promType{promMatrix}, 1, promVector},
		"count_over_time": {[]promType{promMatrix}, 1, promVector}, "last_over_time": {[]promType{promMatrix}, 1, promVector},
		"absent_over_time":   {[]promType{promMatrix}, 1, promVector},
		"quantile_over_time": {[]promType{promScalar, promMatrix}, 2, promVector},
		"absent":             {[]promType{promVector}, 1, promVector}, "time": {nil, 0, promScalar},
		"vector": {[]promType{promScalar}, 1, promVector}, "scalar": {[]promType{promVector}, 1, promScalar},
		"histogram_quantile": {[]promType{promScalar, promVector}, 2, promVector},
		"clamp_min":          {[]promType{promVector, promScalar}, 2, promVector}, "clamp_max": {[]promType{promVector, promScalar}, 2, promVector},
		"clamp": {[]promType{promVector, promScalar, promScalar}, 3, promVector},
		"abs":   {[]promType{promVector}, 1, promVector}, "ceil": {[]promType{promVector}, 1, promVector},
		"floor": {[]promType{promVector}, 1, promVector}, "round": {[]promType{promVector, promScalar}, 1, promVector},
		"timestamp": {[]promType{promVector}, 1, promVector}, "sort": {[]promType{promVector}, 1, promVector},
		"sort_desc":     {[]promType{promVector}, 1, promVector},
		"label_replace": {[]promType{promVector, promString, promString, promString, promString}, 5, promVector},
	}
	promKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "offset": true, "and": true, "or": true, "unless": true, "atan2": true}
	// promPrecedence of the binary operators, loosest first (^ is right-associative).
	promPrecedence = map[string]int{"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
		"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
)

type promParser struct {
	toks    []promToken
	i       int
	metrics []string
}

// parsePromQL checks expr and returns the metric names it selects and its type.
func parsePromQL(expr string) ([]string, promType, error) {
	toks, err := promLex(expr)
	if err != nil {
		return nil, 0, err
	}
	p := &promParser{toks: toks}
	t, err := p.expr(0)
	if err != nil {
		return nil, 0, err
	}
	if tok := p.peek(); tok.kind != tokEOF {
		return nil, 0, fmt.Errorf("at %d: unexpected %q after the expression", tok.pos, tok.text)
	}
	return p.metrics, t, nil
}

func (p *promParser) peek() promToken { return p.toks[p.i] }
func (p *promParser) next() promToken { t := p.toks[p.i]; p.i++; return t }

func (p *promParser) expect(text string) error {
	if t := p.next(); t.text != text || t.kind == tokString {
		return fmt.Errorf("at %d: want %q, got %q", t.pos, text, t.text)
	}
	return nil
}

func (p *promParser) binaryOp() (string, bool) {
	t := p.peek()
	if t.kind == tokOp || t.kind == tokIdent && (t.text == "and" || t.text == "or" || t.text == "unless" || t.text == "atan2") {
		_, ok := promPrecedence[t.text]
		return t.text, ok
	}
	return "", false
}

// expr parses operands joined by operators binding tighter than minPrec.
func (p *promParser) expr(minPrec int) (promType, error) {
	lhs, err := p.unary()
	if err != nil {
		return 0, err
	}
	for {
		op, ok := p.binaryOp()
		if !ok || promPrecedence[op] <= minPrec {
			return lhs, nil
		}
		opTok := p.next()
		comparison := promPrecedence[op] == 3
		set := op == "and" || op == "or" || op == "unless"
		returnBool := false
		if p.peek().text == "bool" {
			if !comparison {
				return 0, fmt.Errorf("at %d: bool only follows a comparison, not %q", p.peek().pos, op)
			}
			p.next()
			returnBool = true
		}
		matching := false
		if t := p.peek().text; t == "on" || t == "ignoring" {
			p.next()
			if err := p.labelList(); err != nil {
				return 0, err
			}
			matching = true
			if t := p.peek().text; t == "group_left" || t == "group_right" {
				if set {
					return 0, fmt.Errorf("at %d: %s with the set operator %q", p.peek().pos, t, op)
				}
				p.next()
				if p.peek().text == "(" {
					if err := p.labelList(); err != nil {
						return 0, err
					}
				}
			}
		}
		next := promPrecedence[op]
		if op == "^" {
			next-- // right-associative
		}
		rhs, err := p.expr(next)
		if err != nil {
			return 0, err
		}
		for _, side := range []promType{lhs, rhs} {
			if side != promScalar && side != promVector {
				return 0, fmt.Errorf("at %d: %q needs scalars or instant vectors, got a %s", opTok.pos, op, side)
			}
		}
		switch {
		case set && (lhs != promVector || rhs != promVector):
			return 0, fmt.Errorf("at %d: %q needs instant vectors on both sides", opTok.pos, op)
		case comparison && lhs == promScalar && rhs == promScalar && !returnBool:
			return 0, fmt.Errorf("at %d: comparing two scalars needs bool", opTok.pos)
		case matching && (lhs != promVector || rhs != promVector):
			return 0, fmt.Errorf("at %d: on/ignoring needs instant vectors on both sides", opTok.pos)
		}
		if lhs == promScalar && rhs == promScalar {
			lhs = promScalar
		} else {
			lhs = promVector
		}
	}
}

func (p *promParser) unary() (promType, error) {
	if t := p.peek(); t.kind == tokOp && (t.text == "-" || t.text == "+") {
		p.next()
		typ, err := p.unary()
		if err == nil && typ != promScalar && typ != promVector {
			return 0, fmt.Errorf("at %d: unary %s of a %s", t.pos, t.text, typ)
		}
		return typ, err
	}
	typ, err := p.primary()
	if err != nil {
		return 0, err
	}
	if p.peek().text == "offset" {
		t := p.next()
		if typ != promVector && typ != promMatrix {
			return 0, fmt.Errorf("at %d: offset applies to a selector, not a %s", t.pos, typ)
		}
		if d := p.next(); d.kind != tokDuration {
			return 0, fmt.Errorf("at %d: offset needs a duration, got %q", d.pos, d.text)
		}
	}
	return typ, nil
}

func (p *promParser) primary() (promType, error) {
	t := p.next()
	switch t.kind {
	case tokNumber:
		return promScalar, nil
	case tokString:
		return promString, nil
	case tokPunct:
		if t.text != "(" {
			break
		}
		typ, err := p.expr(0)
		if err != nil {
			return 0, err
		}
		return typ, p.expect(")")
	case tokIdent:
		switch lower := strings.ToLower(t.text); {
		case lower == "inf" || lower == "nan":
			return promScalar, nil
		case promAggregations[t.text]:
			return p.aggregation(t)
		case p.peek().text == "(":
			return p.call(t)
		case promKeywords[t.text]:
			return 0, fmt.Errorf("at %d: keyword %q where an expression belongs", t.pos, t.text)
		default:
			return p.selector(t)
		}
	}
	return 0, fmt.Errorf("at %d: unexpected %q", t.pos, t.text)
}

func (p *promParser) labelList() error {
	if err := p.expect("("); err != nil {
		return err
	}
	for p.peek().text != ")" {
		if t := p.next(); t.kind != tokIdent {
			return fmt.Errorf("at %d: want a label name, got %q", t.pos, t.text)
		}
		if p.peek().text == "," {
			p.next()
		} else if p.peek().text != ")" {
			return fmt.Errorf("at %d: want , or ) in a label list, got %q", p.peek().pos, p.peek().text)
		}
	}
	p.next()
	return nil
}

func (p *promParser) aggregation(op promToken) (promType, error) {
	grouped := false
	if t := p.peek().text; t == "by" || t == "without" {
		p.next()
		if err := p.labelList(); err != nil {
			return 0, err
		}
		grouped = true
	}
	if err := p.expect("("); err != nil {
		return 0, fmt.Errorf("%s: %w", op.text, err)
	}
	switch op.text {
	case "topk", "bottomk", "quantile", "count_values":
		param, err := p.expr(0)
		if err != nil {
			return 0, err
		}
		want := promScalar
		if op.text == "count_values" {
			want = promString
		}
		if param != want {
			return 0, fmt.Errorf("at %d: %s's parameter must be a %s, got a %s", op.pos, op.text, want, param)
		}
		if err := p.expect(","); err != nil {
			return 0, err
		}
	}
	arg, err := p.expr(0)
	if err != nil {
		return 0, err
	}
	if arg != promVector {
		return 0, fmt.Errorf("at %d: %s aggregates an instant vector, got a %s", op.pos, op.text, arg)
	}
	if err := p.expect(")"); err != nil {
		return 0, err
	}
	if t := p.peek().text; (t == "by" || t == "without") && !grouped {
		p.next()
		if err := p.labelList(); err != nil {
			return 0, err
		}
	}
	return promVector, nil
}

func (p *promParser) call(fn promToken) (promType, error) {
	sig, ok := promFunctions[fn.text]
	if !ok {
		return 0, fmt.Errorf("at %d: unknown function %q", fn.pos, fn.text)
	}
	p.next() // (
	var args []promType
	for p.peek().text != ")" {
		a, err := p.expr(0)
		if err != nil {
			return 0, err
		}
		args = append(args, a)
		if p.peek().text == "," {
			p.next()
		} else if p.peek().text != ")" {
			return 0, fmt.Errorf("at %d: want , or ) in %s's arguments, got %q", p.peek().pos, fn.text, p.peek().text)
		}
	}
	p.next()
	if len(args) < sig.optionalFrom || len(args) > len(sig.args) {
		return 0, fmt.Errorf("at %d: %s takes %d argument(s), got %d", fn.pos, fn.text, len(sig.args), len(args))
	}
	for i, a := range args {
		if a != sig.args[i] {
			return 0, fmt.Errorf("at %d: %s's argument %d must be a %s, got a %s", fn.pos, fn.text, i+1, sig.args[i], a)
		}
	}
	return sig.result, nil
}

func (p *promParser) selector(name promToken) (promType, error) {
	if !model.LegacyValidation.IsValidMetricName(name.text) {
		return 0, fmt.Errorf("at %d: %q is not a metric name", name.pos, name.text)
	}
	p.metrics = append(p.metrics, name.text)
	if p.peek().text == "{" {
		p.next()
		for p.peek().text != "}" {
			l := p.next()
			if l.kind != tokIdent {
				return 0, fmt.Errorf("at %d: want a label name, got %q", l.pos, l.text)
			}
			op := p.next()
			if op.kind != tokOp || (op.text != "=" && op.text != "!=" && op.text != "=~" && op.text != "!~") {
				return 0, fmt.Errorf("at %d: want a label matcher (=, !=, =~, !~), got %q", op.pos, op.text)
			}
			if v := p.next(); v.kind != tokString {
				return 0, fmt.Errorf("at %d: a label matcher needs a quoted value, got %q", v.pos, v.text)
			}
			if p.peek().text == "," {
				p.next()
			} else if p.peek().text != "}" {
				return 0, fmt.Errorf("at %d: want , or } in a selector, got %q", p.peek().pos, p.peek().text)
			}
		}
		p.next()
	}
	if p.peek().text != "[" {
		return promVector, nil
	}
	p.next()
	if d := p.next(); d.kind != tokDuration {
		return 0, fmt.Errorf("at %d: a range needs a duration, got %q", d.pos, d.text)
	}
	return promMatrix, p.expect("]")
}

func TestPromQLChecker(t *testing.T) {
	for expr, want := range map[string][]string{
		`max by (plan, target) (a) == 1`: {"a"},
		`time() - b > 600`:               {"b"},
		`sum by (s) (increase(c_total[1h]) or (c_total unless c_total offset 1h)) > 0`: {"c_total", "c_total", "c_total"},
		`x > 0.8 * y unless z == 1`: {"x", "y", "z"},
		`histogram_quantile(0.95, sum by (le) (rate(h_bucket{p=~"a|b", q!="x"}[5m])))`: {"h_bucket"},
		`sum(rate(x_total[5m])) / ignoring(class) group_left sum(rate(y_total[5m]))`:   {"x_total", "y_total"},
		`1 < bool 2`:    nil,
		`-a ^ 2 ^ 3`:    {"a"},
		`topk(3, m)`:    {"m"},
		`sum(m) by (x)`: {"m"},
	} {
		got, _, err := parsePromQL(expr)
		require.NoError(t, err, expr)
		assert.Equal(t, want, got, expr)
	}
	for expr, why := range map[string]string{
		`sum(a`:                        `want ")"`,
		`rate(a)`:                      "must be a range vector",
		`a[5m] > 1`:                    "needs scalars or instant vectors",
		`1 > 2`:                        "needs bool",
		`a and 1`:                      "instant vectors on both sides",
		`foo(a)`:                       `unknown function "foo"`,
		`sum by (a b) (c)`:             "want , or )",
		`a{x="1" y="2"}`:               "want , or }",
		`a{x=1}`:                       "quoted value",
		`a[5]`:                         "needs a duration",
		`a b`:                          `unexpected "b"`,
		`a offset 1h offset 2h`:        `unexpected "offset"`,
		`a + by`:                       "keyword",
		`a[5x]`:                        "not a duration",
		`a & b`:                        "unexpected character",
		`"x" + 1`:                      "needs scalars or instant vectors",
		`topk(a, b)`:                   "parameter must be a scalar",
		`histogram_quantile(a_bucket)`: "takes 2 argument(s)",
		`a + bool b`:                   "bool only follows a comparison",
		`a or on(x) group_left b`:      "set operator",
	} {
		_, _, err := parsePromQL(expr)
		if assert.Error(t, err, expr) {
			assert.Contains(t, err.Error(), why, expr)
		}
	}
}
