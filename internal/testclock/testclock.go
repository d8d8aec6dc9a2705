// Package testclock is the one clock of a test world: the services' "now" and
// River's (through river.Config.Test.Time), so that nothing a test asserts depends
// on the day or the hour it runs.
//
// A fixed date that only stands for "some day" (a harness's now) comes from Date,
// which moves it by CARILLON_TEST_SHIFT_WEEKS whole weeks (weekdays stay
// weekdays): `make test-shift` runs the suite at +52 and -52 weeks to prove that no
// test compares its clock with the real one. Dates that are calendar facts (a
// festival, a holiday, a lunar birthday) are written with time.Date and stay put.
package testclock

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// EnvShiftWeeks names the variable that moves every Date by whole weeks.
const EnvShiftWeeks = "CARILLON_TEST_SHIFT_WEEKS"

// ShiftWeeks is the shift asked for in EnvShiftWeeks (0 when unset). A value that
// is not a whole number panics: a test run must not quietly ignore it.
func ShiftWeeks() int {
	v := os.Getenv(EnvShiftWeeks)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		panic(fmt.Sprintf("testclock: %s=%q is not a whole number of weeks", EnvShiftWeeks, v))
	}
	return n
}

// Date is time.Date moved by ShiftWeeks weeks, in loc's wall-clock time (a 10:00
// stays 10:00 across a change of daylight saving).
func Date(year int, month time.Month, day, hour, min, sec int, loc *time.Location) time.Time {
	return time.Date(year, month, day, hour, min, sec, 0, loc).AddDate(0, 0, 7*ShiftWeeks())
}

// Base is the harnesses' usual now: Monday 30 November 2026, 02:00 UTC (10:00 in
// Shanghai, a working morning), moved by ShiftWeeks.
func Base() time.Time { return Date(2026, time.November, 30, 2, 0, 0, time.UTC) }

// Clock is a settable clock, safe for concurrent use. It implements River's
// rivertype.TimeGenerator, so one Clock is handed to the services (its Now method)
// and to River (river.Config{Test: river.TestConfig{Time: clk}}).
//
// A clock made by New stands still until it is moved; one made by Running goes
// on at the wall clock's pace from where it was set, for worlds whose workers
// must see time pass (a throttled campaign) on a date of the test's choosing.
type Clock struct {
	mu    sync.Mutex
	t     time.Time
	since time.Time // when t was set, for a running clock; zero for one standing still
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Running returns a clock that reads t now and runs on from there.
func Running(t time.Time) *Clock { return &Clock{t: t, since: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.since.IsZero() {
		return c.t
	}
	return c.t.Add(time.Since(c.since))
}

// NowOrNil returns the clock's time: River then uses it in place of the
// database's now() in every query it makes.
func (c *Clock) NowOrNil() *time.Time {
	t := c.Now()
	return &t
}

// Set moves the clock to t (a running clock runs on from there).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
	if !c.since.IsZero() {
		c.since = time.Now()
	}
}

// Advance moves the clock by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	if c.since.IsZero() {
		return c.t
	}
	return c.t.Add(time.Since(c.since))
}
