// Package timer parses BPMN timer values (timeDate, timeDuration, timeCycle)
// and computes their due times. It is used by model validation and by the
// engine's job executor, which stores the computed due time in a job row;
// nothing here keeps state between calls.
//
// Supported values (BPMN 2.0.2 section 10.5.5 and Camunda 7):
//
//   - timeDate: an ISO 8601 / RFC 3339 date-time, "2026-01-01T09:00:00Z" or
//     "2026-01-01T09:00:00+02:00"; without a zone it is UTC. A bare date
//     "2026-01-01" is midnight UTC.
//   - timeDuration: an ISO 8601 duration, "PT5M", "P1DT2H", "P2W". Years,
//     months, weeks and days are calendar units applied with time.AddDate
//     (a month added to Jan 31 gives the last day of February); hours,
//     minutes and seconds are fixed lengths.
//   - timeCycle: an ISO 8601 repeating interval "R[n]/duration",
//     "R[n]/start/duration", "R[n]/duration/end" or "R[n]/start/end"
//     (n omitted means unbounded), or a cron expression: five fields
//     (minute first, Unix day-of-week numbers 0-6), six or seven fields
//     (Quartz, as Camunda 7 writes them: seconds first, day-of-week numbers
//     1-7 with Sunday = 1, "?" allowed, a seventh year field only as "*"),
//     or a descriptor such as "@daily" or "@every 1h30m".
package timer

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sosodev/duration"
)

// Kind is which of the three BPMN timer forms a Schedule is.
type Kind uint8

// Timer kinds.
const (
	Date     Kind = iota + 1 // timeDate: fires once at a point in time
	Duration                 // timeDuration: fires once, a duration after creation
	Cycle                    // timeCycle: fires repeatedly
)

// String returns the BPMN element name of k: "timeDate", "timeDuration" or "timeCycle".
func (k Kind) String() string {
	switch k {
	case Date:
		return "timeDate"
	case Duration:
		return "timeDuration"
	case Cycle:
		return "timeCycle"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the Kind named by the BPMN element name s
// ("timeDate", "timeDuration", "timeCycle"), or false.
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "timeDate":
		return Date, true
	case "timeDuration":
		return Duration, true
	case "timeCycle":
		return Cycle, true
	}
	return 0, false
}

// Schedule is a parsed timer. The zero value is not usable; get one from Parse.
// A Schedule is immutable and safe for concurrent use.
type Schedule struct {
	kind  Kind
	value string

	date time.Time // Date
	dur  period    // Duration; the interval of an ISO cycle

	// Cycles.
	repeat   int // -1 unbounded
	start    time.Time
	hasStart bool
	end      time.Time
	hasEnd   bool
	cron     cron.Schedule // nil for ISO cycles
}

// Kind returns the schedule's kind.
func (s *Schedule) Kind() Kind { return s.kind }

// String returns the value the schedule was parsed from, trimmed.
func (s *Schedule) String() string { return s.value }

// IsCron reports whether s is a cycle given as a cron expression.
func (s *Schedule) IsCron() bool { return s.cron != nil }

// Repeat returns how many times the schedule fires: 1 for dates and
// durations, n for a cycle "Rn/...", -1 for unbounded cycles ("R/...", cron).
func (s *Schedule) Repeat() int {
	if s.kind != Cycle {
		return 1
	}
	return s.repeat
}

// First returns the first due time of a timer created at t:
//   - date: the date, even when it is before t (the timer is due at once);
//   - duration: t plus the duration;
//   - ISO cycle with a start: the start when it is not before t, else the
//     first occurrence start + k×interval at or after t (occurrences skipped
//     this way do not count as fires);
//   - ISO cycle without a start: t plus the interval;
//   - cron: the first matching time after t.
//
// First returns the zero time when the cycle has no occurrence after t: its
// end has passed, or the cron expression matches no date within five years.
func (s *Schedule) First(t time.Time) time.Time {
	switch s.kind {
	case Date:
		return s.date
	case Duration:
		return s.dur.addTo(t)
	case Cycle:
		if s.cron != nil {
			return s.cron.Next(t)
		}
		var due time.Time
		if s.hasStart {
			due = s.dur.firstAtOrAfter(s.start, t)
		} else {
			due = s.dur.addTo(t)
		}
		if due.IsZero() || (s.hasEnd && due.After(s.end)) {
			return time.Time{}
		}
		return due
	}
	return time.Time{}
}

// Next returns the due time that follows the fire at prev, where fired is
// the number of fires so far (prev's included). It returns false when the
// schedule is exhausted: always for dates and durations, after n fires for
// "Rn/..." cycles, past the end of a bounded cycle, and when a cron
// expression matches no later date within five years.
func (s *Schedule) Next(prev time.Time, fired int) (time.Time, bool) {
	if s.kind != Cycle {
		return time.Time{}, false
	}
	if s.repeat >= 0 && fired >= s.repeat {
		return time.Time{}, false
	}
	if s.cron != nil {
		next := s.cron.Next(prev)
		return next, !next.IsZero()
	}
	next := s.dur.addTo(prev)
	if s.hasEnd && next.After(s.end) {
		return time.Time{}, false
	}
	return next, true
}

// Parse parses value as a timer of the given kind: "timeDate",
// "timeDuration" or "timeCycle". Surrounding white space is ignored.
// The error names the kind and the value and says what is wrong, e.g.
// `timeCycle "R3/PX": invalid duration "PX": ...`. Parse never panics.
func Parse(kind, value string) (s *Schedule, err error) {
	k, ok := ParseKind(kind)
	if !ok {
		return nil, fmt.Errorf("unknown timer kind %q: expected timeDate, timeDuration or timeCycle", kind)
	}
	v := strings.TrimSpace(value)
	defer func() {
		// The cron library has panicked on malformed input before; a timer
		// value comes from an uploaded model and must never crash the caller.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%s %q: invalid value", k, v)
		}
	}()
	s = &Schedule{kind: k, value: v, repeat: 1}
	if v == "" {
		return nil, fmt.Errorf("%s %q: empty value", k, v)
	}
	switch k {
	case Date:
		s.date, err = parseDate(v)
	case Duration:
		s.dur, err = parsePeriod(v)
	case Cycle:
		err = s.parseCycle(v)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", k, v, err)
	}
	return s, nil
}

// dateLayouts are the date-time forms accepted, most common first. Layouts
// without a zone are read as UTC.
var dateLayouts = []string{
	time.RFC3339, // also takes fractional seconds
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseDate(v string) (time.Time, error) {
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q: expected an ISO 8601 date-time such as 2026-01-01T09:00:00Z", v)
}

func (s *Schedule) parseCycle(v string) error {
	s.repeat = -1
	if v[0] != 'R' {
		if v[0] == 'P' {
			return fmt.Errorf("a cycle needs a repetition: write R/%s to repeat forever or R3/%s to repeat three times", v, v)
		}
		return s.parseCron(v)
	}
	parts := strings.Split(v, "/")
	if n := parts[0][1:]; n != "" {
		r, err := strconv.Atoi(n)
		if err != nil || r < 0 {
			return fmt.Errorf("invalid repetition %q: expected R or Rn with n a whole number, e.g. R3", parts[0])
		}
		if r == 0 {
			return errors.New("R0 repeats zero times, so the timer would never fire")
		}
		s.repeat = r
	}
	parts = parts[1:]
	isDuration := func(p string) bool { return strings.HasPrefix(p, "P") || strings.HasPrefix(p, "-P") }
	var err error
	switch {
	case len(parts) == 1 && isDuration(parts[0]):
		s.dur, err = parseInterval(parts[0])
	case len(parts) == 2 && isDuration(parts[1]): // start/duration
		if s.start, err = parseDate(parts[0]); err != nil {
			return err
		}
		s.hasStart = true
		s.dur, err = parseInterval(parts[1])
	case len(parts) == 2 && isDuration(parts[0]): // duration/end
		if s.dur, err = parseInterval(parts[0]); err != nil {
			return err
		}
		s.end, err = parseDate(parts[1])
		s.hasEnd = true
	case len(parts) == 2: // start/end
		if s.start, err = parseDate(parts[0]); err != nil {
			return err
		}
		if s.end, err = parseDate(parts[1]); err != nil {
			return err
		}
		if !s.end.After(s.start) {
			return fmt.Errorf("the end %s is not after the start %s", parts[1], parts[0])
		}
		d := s.end.Sub(s.start)
		if d == math.MaxInt64 {
			return errors.New("the interval between start and end is too long")
		}
		// ISO 8601 "start/end" repeats the interval's length from the start;
		// the end bounds only the first interval.
		s.hasStart, s.hasEnd = true, false
		s.dur = period{fixed: d}
	default:
		return errors.New("expected R[n]/duration, R[n]/start/duration, R[n]/duration/end or R[n]/start/end, e.g. R3/PT10M")
	}
	return err
}

// parser accepts 5 fields (minute first), 6 fields (seconds first) and
// descriptors. robfig/cron allows one optional field only: with both
// SecondOptional and DowOptional, NewParser panics.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (s *Schedule) parseCron(v string) error {
	spec := v
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		// The library slices up to the first space without checking for one.
		if !strings.Contains(spec, " ") {
			return errors.New("invalid cron expression: a time zone prefix must be followed by the expression")
		}
		i := strings.Index(spec, " ")
		prefix, rest := spec[:i], strings.TrimSpace(spec[i:])
		q, err := quartz(rest)
		if err != nil {
			return err
		}
		spec = prefix + " " + q
	} else if !strings.HasPrefix(spec, "@") {
		q, err := quartz(spec)
		if err != nil {
			return err
		}
		spec = q
	}
	sched, err := parser.Parse(spec)
	if err != nil {
		return fmt.Errorf("invalid cron expression: %w", err)
	}
	// A cron expression that matches no date (30 February) would never fire.
	ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if sched.Next(ref).IsZero() {
		return errors.New("the cron expression matches no date, so the timer would never fire")
	}
	s.cron = sched
	return nil
}

// quartz rewrites a six- or seven-field Quartz expression into the robfig
// form: the year field is dropped when it is "*" and day-of-week numbers
// 1-7 (Sunday = 1) become 0-6. Five-field expressions are returned as they are.
func quartz(spec string) (string, error) {
	fields := strings.Fields(spec)
	for _, f := range fields {
		if strings.ContainsAny(f, "LW#") && !isNames(f) {
			return "", fmt.Errorf("invalid cron expression: field %q uses L, W or #, which are not supported", f)
		}
	}
	switch len(fields) {
	case 7:
		if y := fields[6]; y != "*" && y != "?" {
			return "", fmt.Errorf("invalid cron expression: a year field (%q) is not supported; use *", y)
		}
		fields = fields[:6]
	case 6:
	default:
		return strings.Join(fields, " "), nil
	}
	dow, err := quartzDow(fields[5])
	if err != nil {
		return "", err
	}
	fields[5] = dow
	return strings.Join(fields, " "), nil
}

// isNames reports whether f holds only month or day names (which may
// contain W, as in WED) and separators.
func isNames(f string) bool {
	for _, item := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == '-' || r == '/' }) {
		switch strings.ToUpper(item) {
		case "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
			"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC":
			continue
		}
		if _, err := strconv.Atoi(item); err == nil || item == "*" || item == "?" {
			continue
		}
		return false
	}
	return true
}

// quartzDow turns Quartz day-of-week numbers (1-7, Sunday = 1) into Unix
// ones (0-6, Sunday = 0). Steps and names are kept.
func quartzDow(f string) (string, error) {
	items := strings.Split(f, ",")
	for i, item := range items {
		rng, step, hasStep := strings.Cut(item, "/")
		ends := strings.Split(rng, "-")
		for j, e := range ends {
			n, err := strconv.Atoi(e)
			if err != nil {
				continue // *, ?, a name, or an error the cron parser reports
			}
			if n < 1 || n > 7 {
				return "", fmt.Errorf("invalid cron expression: day of week %d is out of range 1-7 (Sunday = 1)", n)
			}
			ends[j] = strconv.Itoa(n - 1)
		}
		items[i] = strings.Join(ends, "-")
		if hasStep {
			items[i] += "/" + step
		}
	}
	return strings.Join(items, ","), nil
}

// period is a parsed ISO 8601 duration: calendar months and days, applied
// with calendar arithmetic, and a fixed part.
type period struct {
	months int // years × 12 + months
	days   int // weeks × 7 + days
	fixed  time.Duration
}

// Limits keep all arithmetic far from overflow: about 10,000 years of calendar
// units and 100 years of fixed time.
const (
	maxMonths = 12 * 10000
	maxDays   = 366 * 10000
	maxFixed  = 100 * 365 * 24 * time.Hour
)

func (p period) isZero() bool { return p.months == 0 && p.days == 0 && p.fixed == 0 }

// addTo returns t plus p. Months are added first, clamping the day to the
// end of a shorter month (Jan 31 + P1M = Feb 28 or 29, as Java's Calendar
// and Camunda do), then days with time.AddDate, then the fixed part.
func (p period) addTo(t time.Time) time.Time {
	if p.months != 0 {
		y, m, d := t.Date()
		first := time.Date(y, m+time.Month(p.months), 1, 0, 0, 0, 0, t.Location())
		if last := daysIn(first.Year(), first.Month()); d > last {
			d = last
		}
		hh, mm, ss := t.Clock()
		t = time.Date(first.Year(), first.Month(), d, hh, mm, ss, t.Nanosecond(), t.Location())
	}
	if p.days != 0 {
		t = t.AddDate(0, 0, p.days)
	}
	return t.Add(p.fixed)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// firstAtOrAfter returns the first of start, start+p, start+2p, ... that is
// not before t, or the zero time when p is empty.
func (p period) firstAtOrAfter(start, t time.Time) time.Time {
	if p.isZero() {
		return time.Time{}
	}
	cur := start
	if p.months == 0 {
		// Days in start's zone: start comes from parseDate, so its zone is a
		// fixed offset and a day is exactly 24 hours. Jump close to t.
		step := time.Duration(p.days)*24*time.Hour + p.fixed
		for cur.Before(t) {
			gap := t.Sub(cur) // saturates for very distant times: loop again
			k := gap / step
			if k == 0 {
				cur = cur.Add(step)
				continue
			}
			cur = cur.Add(k * step)
		}
		return cur
	}
	// Calendar months: step one at a time (at most maxMonths steps for the
	// whole range of four-digit years), so that month-end clamping applies
	// exactly as Next would.
	for i := 0; cur.Before(t); i++ {
		if i > 2*maxMonths {
			return time.Time{}
		}
		cur = p.addTo(cur)
	}
	return cur
}

// parseInterval parses the interval of a cycle, which must be positive.
func parseInterval(v string) (period, error) {
	p, err := parsePeriod(v)
	if err == nil && p.isZero() {
		err = fmt.Errorf("the interval %q is zero, so the timer would fire endlessly", v)
	}
	return p, err
}

// parsePeriod parses an ISO 8601 duration. Years and months must be whole
// numbers; fractions of weeks and days become fixed hours.
func parsePeriod(v string) (period, error) {
	bad := func(why string) (period, error) {
		return period{}, fmt.Errorf("invalid duration %q: %s", v, why)
	}
	if strings.HasPrefix(v, "-") {
		return bad("negative durations are not allowed")
	}
	if !strings.HasPrefix(v, "P") {
		return bad("expected an ISO 8601 duration such as PT5M, P1DT2H or P2W")
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r == '.' || strings.ContainsRune("PYMWDTHS", r)) {
			return bad(fmt.Sprintf("unexpected character %q; expected an ISO 8601 duration such as PT5M, P1DT2H or P2W", r))
		}
	}
	if v == "P" || strings.HasSuffix(v, "T") {
		return bad("no value after P or T")
	}
	if why := checkUnits(v); why != "" {
		return bad(why)
	}
	d, err := duration.Parse(v)
	if err != nil {
		return bad(err.Error())
	}
	for _, f := range []float64{d.Years, d.Months, d.Weeks, d.Days, d.Hours, d.Minutes, d.Seconds} {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return bad("a value is not a positive number")
		}
	}
	if d.Years != math.Trunc(d.Years) || d.Months != math.Trunc(d.Months) {
		return bad("years and months must be whole numbers")
	}
	if d.Years*12+d.Months > maxMonths || d.Weeks*7+d.Days > maxDays {
		return bad("too long")
	}
	days := d.Weeks*7 + d.Days
	whole := math.Trunc(days)
	fixedHours := (days-whole)*24 + d.Hours + d.Minutes/60 + d.Seconds/3600
	if fixedHours > maxFixed.Hours() {
		return bad("too long")
	}
	return period{
		months: int(d.Years*12 + d.Months),
		days:   int(whole),
		fixed:  time.Duration(math.Round(((days-whole)*24*3600 + d.Hours*3600 + d.Minutes*60 + d.Seconds) * 1e9)),
	}, nil
}

// checkUnits checks what the duration library lets pass: each unit at most
// once, in the order Y M W D, then T, then H M S, each after a number.
func checkUnits(v string) string {
	units, last, num := "YMWD", -1, false
	for _, r := range v[1:] {
		switch {
		case r >= '0' && r <= '9' || r == '.':
			num = true
		case r == 'T':
			if units == "HMS" || num {
				return "misplaced T"
			}
			units, last = "HMS", -1
		default:
			j := strings.IndexRune(units, r)
			if j < 0 {
				return fmt.Sprintf("%q is not allowed here (date units Y M W D come before T, time units H M S after it)", string(r))
			}
			if !num {
				return fmt.Sprintf("no number before %q", string(r))
			}
			if j <= last {
				return "units are repeated or out of order"
			}
			last, num = j, false
		}
	}
	if num {
		return "a number has no unit"
	}
	return ""
}
