package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cronSpec is a parsed five-field cron expression (minute, hour,
// day-of-month, month, day-of-week). A time matches when every field
// matches: Temporal Schedules combine day-of-month and day-of-week with AND,
// not with classic cron's OR.
type cronSpec struct {
	minute, hour, dom, month, dow uint64
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is the value min+i, or none
}

var cronFields = [5]cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	// 7 is Sunday too, as in Temporal's parser.
	{name: "day-of-week", min: 0, max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

var fullNames = map[string]string{
	"january": "jan", "february": "feb", "march": "mar", "april": "apr", "june": "jun", "july": "jul",
	"august": "aug", "september": "sep", "october": "oct", "november": "nov", "december": "dec",
	"sunday": "sun", "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
	"friday": "fri", "saturday": "sat",
}

const cronForm = "5 fields: minute hour day-of-month month day-of-week (e.g. \"0 2 * * *\")"

// parseCron parses the strict subset of cron syntax that Temporal Schedules
// read the same way: per field "*", numbers, ranges "a-b", lists "a,b",
// steps "*/n", "a-b/n" and "a/n" (a to the end), month names and weekday
// names (three letters or in full). Macros (@daily), seconds, years,
// "CRON_TZ=" prefixes and comments are refused: the plan's timeZone says
// the zone and the fields say the rest.
func parseCron(expr string) (cronSpec, error) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return cronSpec{}, fmt.Errorf("%q has %d fields; cron needs %s", expr, len(fields), cronForm)
	}
	var bits [5]uint64
	for i, text := range fields {
		b, err := cronFields[i].parse(text)
		if err != nil {
			return cronSpec{}, fmt.Errorf("%s field %q: %w", cronFields[i].name, text, err)
		}
		bits[i] = b
	}
	// Sunday is 0 and 7.
	if bits[4]&(1<<7) != 0 {
		bits[4] |= 1
	}
	spec := cronSpec{minute: bits[0], hour: bits[1], dom: bits[2], month: bits[3], dow: bits[4]}
	if _, ok := spec.longestGap(); !ok {
		return cronSpec{}, fmt.Errorf("%q matches no date (day-of-month %s never falls in month %s with that day-of-week)", expr, fields[2], fields[3])
	}
	return spec, nil
}

func (f cronField) parse(text string) (uint64, error) {
	var bits uint64
	for item := range strings.SplitSeq(text, ",") {
		b, err := f.parseItem(item)
		if err != nil {
			return 0, err
		}
		bits |= b
	}
	return bits, nil
}

func (f cronField) parseItem(item string) (uint64, error) {
	if item == "" {
		return 0, fmt.Errorf("has an empty list item")
	}
	base, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 || n > f.max-f.min+1 {
			return 0, fmt.Errorf("step %q must be a number from 1 to %d", stepText, f.max-f.min+1)
		}
		step = n
	}
	lo, hi := f.min, f.max
	switch {
	case base == "*":
	case strings.Contains(base, "-"):
		a, b, _ := strings.Cut(base, "-")
		if a == "" || b == "" || strings.Contains(b, "-") {
			return 0, fmt.Errorf("%q is not a number %d-%d or a range a-b", base, f.min, f.max)
		}
		var err error
		if lo, err = f.value(a); err != nil {
			return 0, err
		}
		if hi, err = f.value(b); err != nil {
			return 0, err
		}
		if hi < lo {
			return 0, fmt.Errorf("range %q ends before it starts", base)
		}
	default:
		v, err := f.value(base)
		if err != nil {
			return 0, err
		}
		lo = v
		// "a/n" runs from a to the end, as in Temporal; "a" alone is a.
		if !hasStep {
			hi = v
		}
	}
	var bits uint64
	for v := lo; v <= hi; v += step {
		bits |= 1 << v
	}
	return bits, nil
}

func (f cronField) value(text string) (int, error) {
	if n, err := strconv.Atoi(text); err == nil && !strings.HasPrefix(text, "+") && !strings.HasPrefix(text, "-") {
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("%d is out of range %d-%d", n, f.min, f.max)
		}
		return n, nil
	}
	lower := strings.ToLower(text)
	if short, ok := fullNames[lower]; ok {
		lower = short
	}
	for i, name := range f.names {
		if name == lower {
			return f.min + i, nil
		}
	}
	if f.names != nil {
		return 0, fmt.Errorf("%q is neither a number %d-%d nor a name (%s)", text, f.min, f.max, strings.Join(f.names, ", "))
	}
	return 0, fmt.Errorf("%q is not a number %d-%d", text, f.min, f.max)
}

func (c cronSpec) matches(day, month, weekday int) bool {
	return c.dom&(1<<day) != 0 && c.month&(1<<month) != 0 && c.dow&(1<<weekday) != 0
}

// minutesOfDay lists the minutes after midnight at which the schedule fires
// on a matching day, ascending.
func (c cronSpec) minutesOfDay() []int {
	var out []int
	for h := range 24 {
		if c.hour&(1<<h) == 0 {
			continue
		}
		for m := range 60 {
			if c.minute&(1<<m) != 0 {
				out = append(out, h*60+m)
			}
		}
	}
	return out
}

// gapCycleDays is the Gregorian calendar's repeat of weekdays and leap
// days between 1901 and 2099: 28 years, walked from 2001-01-01, a Monday.
const gapCycleDays = 28*365 + 7

// longestGap is the longest time between two consecutive runs, on the
// wall clock (daylight saving shifts are ignored: at most an hour). ok is
// false when no date matches.
func (c cronSpec) longestGap() (gap time.Duration, ok bool) {
	minutes := c.minutesOfDay()
	first, last := minutes[0], minutes[len(minutes)-1]
	for i := 1; i < len(minutes); i++ {
		gap = max(gap, time.Duration(minutes[i]-minutes[i-1])*time.Minute)
	}
	// Walk one cycle plus the wrap to the next cycle's first matching day.
	prev, firstDay := -1, -1
	// The walk counts dates by hand: time.AddDate per day would make
	// validating a large file slow.
	year, month, dom, weekday := 2001, 1, 1, int(time.Monday)
	for day := 0; day < gapCycleDays; day++ {
		match := c.matches(dom, month, weekday)
		weekday = (weekday + 1) % 7
		if dom++; dom > daysIn(month, year) {
			dom = 1
			if month++; month > 12 {
				month = 1
				year++
			}
		}
		if !match {
			continue
		}
		if prev >= 0 {
			gap = max(gap, time.Duration((day-prev)*24*60+first-last)*time.Minute)
		} else {
			firstDay = day
		}
		prev = day
	}
	if prev < 0 {
		return 0, false
	}
	wrap := firstDay + gapCycleDays
	gap = max(gap, time.Duration((wrap-prev)*24*60+first-last)*time.Minute)
	return gap, true
}

func daysIn(month, year int) int {
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
}

// LongestGap is the longest time between two consecutive runs of the
// schedule: Every, or for a cron the longest gap on the wall clock over a
// full calendar cycle (daylight saving shifts of up to an hour aside). It
// is 0 when the schedule is invalid.
func (s Schedule) LongestGap() time.Duration {
	if s.Cron == "" {
		return s.Every.Std()
	}
	spec, err := parseCron(s.Cron)
	if err != nil {
		return 0
	}
	gap, _ := spec.longestGap()
	return gap
}
