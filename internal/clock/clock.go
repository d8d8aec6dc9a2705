// Package clock hands a service's injected clock to the River client it inserts
// jobs with, so that a job's created and scheduled times come from the same clock
// as the rows written beside it.
package clock

import (
	"time"

	"github.com/riverqueue/river/rivertype"
)

// River returns the time generator for a River client of a service whose clock is
// now: nil when now is nil (the real clock: River then leaves the times to the
// database's now()), else a generator reading now. Tests that inject a clock give
// the same one to their River workers (river.Config.Test.Time), so a job inserted
// at the injected time is due by the workers' clock as well.
func River(now func() time.Time) rivertype.TimeGenerator {
	if now == nil {
		return nil
	}
	return funcTime(now)
}

type funcTime func() time.Time

func (f funcTime) Now() time.Time { return f() }

func (f funcTime) NowOrNil() *time.Time {
	t := f()
	return &t
}
