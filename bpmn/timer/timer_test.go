package timer_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zone test never depends on the machine's zoneinfo

	"github.com/batonbpm/baton/bpmn/timer"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParse(t *testing.T) {
	t.Parallel()
	created := date("2026-01-31T10:00:00Z")
	tests := []struct {
		name, kind, value string
		repeat            int
		// first is the first due time for a timer created at created;
		// next are the due times after it, until exhaustion (bounded) or
		// the number given (unbounded).
		first string
		next  []string
	}{
		{"DateUTC", "timeDate", "2026-03-01T09:00:00Z", 1, "2026-03-01T09:00:00Z", nil},
		{"DateOffset", "timeDate", "2026-03-01T09:00:00+02:00", 1, "2026-03-01T07:00:00Z", nil},
		{"DateBasicOffset", "timeDate", "2026-03-01T09:00:00+0200", 1, "2026-03-01T07:00:00Z", nil},
		{"DateNoZoneIsUTC", "timeDate", "2026-03-01T09:00:00", 1, "2026-03-01T09:00:00Z", nil},
		{"DateFraction", "timeDate", "2026-03-01T09:00:00.5Z", 1, "2026-03-01T09:00:00.5Z", nil},
		{"DateNoSeconds", "timeDate", "2026-03-01T09:00", 1, "2026-03-01T09:00:00Z", nil},
		{"DateOnly", "timeDate", "2026-03-01", 1, "2026-03-01T00:00:00Z", nil},
		{"DatePastIsDueAtOnce", "timeDate", "2020-01-01T00:00:00Z", 1, "2020-01-01T00:00:00Z", nil},
		{"DateWhiteSpace", "timeDate", "\n  2026-03-01T09:00:00Z\n ", 1, "2026-03-01T09:00:00Z", nil},

		{"DurationMinutes", "timeDuration", "PT5M", 1, "2026-01-31T10:05:00Z", nil},
		{"DurationDaysHours", "timeDuration", "P1DT2H", 1, "2026-02-01T12:00:00Z", nil},
		{"DurationWeeks", "timeDuration", "P2W", 1, "2026-02-14T10:00:00Z", nil},
		{"DurationMonthEnd", "timeDuration", "P1M", 1, "2026-02-28T10:00:00Z", nil},
		{"DurationYearMonth", "timeDuration", "P1Y1M", 1, "2027-02-28T10:00:00Z", nil},
		{"DurationFractionSeconds", "timeDuration", "PT1.5S", 1, "2026-01-31T10:00:01.5Z", nil},
		{"DurationHalfDay", "timeDuration", "P0.5D", 1, "2026-01-31T22:00:00Z", nil},
		{"DurationZero", "timeDuration", "PT0S", 1, "2026-01-31T10:00:00Z", nil},
		{"DurationMixed", "timeDuration", "P1Y2M3DT4H5M6S", 1, "2027-04-03T14:05:06Z", nil},

		{"CycleUnbounded", "timeCycle", "R/PT1H", -1, "2026-01-31T11:00:00Z",
			[]string{"2026-01-31T12:00:00Z", "2026-01-31T13:00:00Z", "2026-01-31T14:00:00Z"}},
		{"CycleBounded", "timeCycle", "R3/PT10M", 3, "2026-01-31T10:10:00Z",
			[]string{"2026-01-31T10:20:00Z", "2026-01-31T10:30:00Z"}},
		{"CycleOnce", "timeCycle", "R1/PT10M", 1, "2026-01-31T10:10:00Z", []string{}},
		{"CycleStartFuture", "timeCycle", "R/2026-02-01T09:00:00Z/P1D", -1, "2026-02-01T09:00:00Z",
			[]string{"2026-02-02T09:00:00Z", "2026-02-03T09:00:00Z"}},
		{"CycleStartPast", "timeCycle", "R/2026-01-01T09:00:00Z/P1D", -1, "2026-02-01T09:00:00Z",
			[]string{"2026-02-02T09:00:00Z"}},
		{"CycleStartPastFarAway", "timeCycle", "R/1700-01-01T00:00:00Z/PT1S", -1, "2026-01-31T10:00:00Z",
			[]string{"2026-01-31T10:00:01Z"}},
		{"CycleStartEqual", "timeCycle", "R2/2026-01-31T10:00:00Z/PT1H", 2, "2026-01-31T10:00:00Z",
			[]string{"2026-01-31T11:00:00Z"}},
		{"CycleStartMonthly", "timeCycle", "R/2025-10-31T08:00:00Z/P1M", -1, "2026-02-28T08:00:00Z",
			[]string{"2026-03-28T08:00:00Z"}},
		{"CycleDurationEnd", "timeCycle", "R/PT20H/2026-02-02T00:00:00Z", -1, "2026-02-01T06:00:00Z", []string{}},
		{"CycleStartEnd", "timeCycle", "R2/2026-02-01T00:00:00Z/2026-02-01T06:00:00Z", 2, "2026-02-01T00:00:00Z",
			[]string{"2026-02-01T06:00:00Z"}},

		{"CronFiveFields", "timeCycle", "30 9 * * *", -1, "2026-02-01T09:30:00Z", []string{"2026-02-02T09:30:00Z"}},
		{"CronSixFields", "timeCycle", "15 30 9 * * *", -1, "2026-02-01T09:30:15Z", []string{"2026-02-02T09:30:15Z"}},
		{"CronQuartz", "timeCycle", "0 0/5 * * * ?", -1, "2026-01-31T10:05:00Z",
			[]string{"2026-01-31T10:10:00Z", "2026-01-31T10:15:00Z"}},
		// Quartz day-of-week 2 is Monday; 2026-02-02 is a Monday.
		{"CronQuartzMonday", "timeCycle", "0 0 12 ? * 2", -1, "2026-02-02T12:00:00Z", []string{"2026-02-09T12:00:00Z"}},
		{"CronQuartzWeekdays", "timeCycle", "0 0 8 ? * MON-FRI", -1, "2026-02-02T08:00:00Z", []string{"2026-02-03T08:00:00Z"}},
		{"CronQuartzRange", "timeCycle", "0 0 8 ? * 2-6", -1, "2026-02-02T08:00:00Z", []string{"2026-02-03T08:00:00Z"}},
		{"CronQuartzYearStar", "timeCycle", "0 0 12 * * ? *", -1, "2026-01-31T12:00:00Z", []string{"2026-02-01T12:00:00Z"}},
		{"CronDaily", "timeCycle", "@daily", -1, "2026-02-01T00:00:00Z", []string{"2026-02-02T00:00:00Z"}},
		{"CronEvery", "timeCycle", "@every 90m", -1, "2026-01-31T11:30:00Z", []string{"2026-01-31T13:00:00Z"}},
		{"CronZone", "timeCycle", "CRON_TZ=UTC 0 9 * * *", -1, "2026-02-01T09:00:00Z", []string{"2026-02-02T09:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := timer.Parse(tt.kind, tt.value)
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", tt.kind, tt.value, err)
			}
			if got := s.Kind().String(); got != tt.kind {
				t.Errorf("Kind = %s, want %s", got, tt.kind)
			}
			if got := s.Repeat(); got != tt.repeat {
				t.Errorf("Repeat = %d, want %d", got, tt.repeat)
			}
			first := s.First(created)
			if !first.Equal(date(tt.first)) {
				t.Fatalf("First = %s, want %s", first.Format(time.RFC3339Nano), tt.first)
			}
			prev := first
			for i, want := range tt.next {
				next, ok := s.Next(prev, i+1)
				if !ok {
					t.Fatalf("Next after fire %d: exhausted, want %s", i+1, want)
				}
				if !next.Equal(date(want)) {
					t.Fatalf("Next after fire %d = %s, want %s", i+1, next.Format(time.RFC3339), want)
				}
				prev = next
			}
			bounded := tt.repeat > 0 || tt.name == "CycleDurationEnd"
			if tt.next != nil && bounded {
				if next, ok := s.Next(prev, len(tt.next)+1); ok {
					t.Fatalf("Next after the last fire = %s, want exhausted", next.Format(time.RFC3339))
				}
			}
			if tt.kind != "timeCycle" {
				if _, ok := s.Next(first, 1); ok {
					t.Fatal("Next of a one-shot timer is not exhausted")
				}
			}
		})
	}
}

func TestParseLocalPrev(t *testing.T) {
	t.Parallel()
	// Calendar days keep the wall clock across a daylight-saving change in the zone of prev.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal("time zone data (embedded by time/tzdata):", err)
	}
	s, err := timer.Parse("timeCycle", "R/P1D")
	if err != nil {
		t.Fatal(err)
	}
	prev := time.Date(2026, 3, 28, 9, 0, 0, 0, berlin)
	next, _ := s.Next(prev, 1)
	if want := time.Date(2026, 3, 29, 9, 0, 0, 0, berlin); !next.Equal(want) {
		t.Fatalf("Next = %s, want %s", next, want)
	}
}

func TestCycleEndPassed(t *testing.T) {
	t.Parallel()
	s, err := timer.Parse("timeCycle", "R/PT1H/2020-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.First(date("2026-01-01T00:00:00Z")); !got.IsZero() {
		t.Fatalf("First = %s, want zero: the end has passed", got)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ kind, value, want string }{
		{"timeCycle", "R3/PX", `timeCycle "R3/PX": invalid duration "PX"`},
		{"timeDate", "", `timeDate "": empty value`},
		{"timeDate", "   ", `timeDate "": empty value`},
		{"timeDate", "tomorrow", `invalid date "tomorrow"`},
		{"timeDate", "2026-13-01T00:00:00Z", "invalid date"},
		{"timeDate", "PT5M", "invalid date"},
		{"timeDuration", "5 minutes", "expected an ISO 8601 duration"},
		{"timeDuration", "P", "no value after P or T"},
		{"timeDuration", "PT", "no value after P or T"},
		{"timeDuration", "P5", "a number has no unit"},
		{"timeDuration", "P5H", `"H" is not allowed here`},
		{"timeDuration", "PT5D", `"D" is not allowed here`},
		{"timeDuration", "PT5M5M", "repeated or out of order"},
		{"timeDuration", "P1D1Y", "repeated or out of order"},
		{"timeDuration", "PTM", `no number before "M"`},
		{"timeDuration", "-PT5M", "negative durations are not allowed"},
		{"timeDuration", "P1.5M", "whole numbers"},
		{"timeDuration", "P1..5D", "invalid duration"},
		{"timeDuration", "P99999999Y", "too long"},
		{"timeDuration", "PT99999999999999999999S", "too long"},
		{"timeDuration", "PT5M ago", "unexpected character"},
		{"timeDuration", "R3/PT5M", "expected an ISO 8601 duration"},
		{"timeCycle", "PT5M", "a cycle needs a repetition: write R/PT5M"},
		{"timeCycle", "R0/PT5M", "R0 repeats zero times"},
		{"timeCycle", "Rx/PT5M", `invalid repetition "Rx"`},
		{"timeCycle", "R-1/PT5M", `invalid repetition "R-1"`},
		{"timeCycle", "R/PT0S", "is zero"},
		{"timeCycle", "R", "expected R[n]/duration"},
		{"timeCycle", "R/", "expected R[n]/duration"},
		{"timeCycle", "R/a/b/c", "expected R[n]/duration"},
		{"timeCycle", "R/2026-01-01/2025-01-01", "is not after the start"},
		{"timeCycle", "R/yesterday/PT1H", "invalid date"},
		{"timeCycle", "R/PT1H/never", "invalid date"},
		{"timeCycle", "* * *", "invalid cron expression"},
		{"timeCycle", "0 0 30 2 *", "matches no date"},
		{"timeCycle", "0 0 12 L * ?", "L, W or #"},
		{"timeCycle", "0 0 12 ? * 6#3", "L, W or #"},
		{"timeCycle", "0 0 12 * * ? 2027", "year field"},
		{"timeCycle", "0 0 12 ? * 0", "day of week 0 is out of range"},
		{"timeCycle", "0 0 12 ? * 8", "day of week 8 is out of range"},
		{"timeCycle", "@sometimes", "invalid cron expression"},
		{"timeCycle", "TZ=Europe/Berlin", "time zone prefix"},
		{"timeCycle", "CRON_TZ=Nowhere/City 0 9 * * *", "invalid cron expression"},
		{"timeCycle", "*/0 * * * *", "invalid cron expression"},
		{"timeSomething", "PT5M", `unknown timer kind "timeSomething"`},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.value, func(t *testing.T) {
			t.Parallel()
			s, err := timer.Parse(tt.kind, tt.value)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %v, want an error containing %q", tt.kind, tt.value, s, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q, %q) error = %q, want it to contain %q", tt.kind, tt.value, err, tt.want)
			}
			if k := tt.kind; k != "timeSomething" && !strings.HasPrefix(err.Error(), k+" ") {
				t.Fatalf("error %q does not name the kind", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"PT5M", "P1DT2H", "P2W", "P1Y2M3DT4H5M6.5S", "R/PT1H", "R3/PT10M",
		"R/2026-01-01T09:00:00Z/P1D", "R/PT1H/2026-01-01T00:00:00Z",
		"R2/2026-01-01T00:00:00Z/2026-01-02T00:00:00Z", "2026-01-01T09:00:00+02:00",
		"0 0/5 * * * ?", "0 0 12 ? * 2-6/2", "0 0 12 * * ? *", "@daily", "@every 1h",
		"CRON_TZ=UTC 0 9 * * *", "TZ=", "*/5 * * * *", "R/1700-01-01T00:00:00Z/P1M",
	} {
		for _, k := range []string{"timeDate", "timeDuration", "timeCycle"} {
			f.Add(k, seed)
		}
	}
	created := date("2026-01-31T10:00:00Z")
	f.Fuzz(func(t *testing.T, kind, value string) {
		s, err := timer.Parse(kind, value)
		if err != nil {
			if s != nil {
				t.Fatal("non-nil schedule with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		first := s.First(created)
		if s.Kind() == timer.Duration && first.Before(created) {
			t.Fatalf("duration %q: First %s before creation", value, first)
		}
		prev := first
		for i := 1; i <= 3 && !prev.IsZero(); i++ {
			next, ok := s.Next(prev, i)
			if !ok {
				break
			}
			if !next.After(prev) {
				t.Fatalf("%s %q: Next(%s) = %s, not after", kind, value, prev, next)
			}
			prev = next
		}
	})
}
