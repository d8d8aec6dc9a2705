package console

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/delivery"
)

// TestQueueCountsAtTheCapShowAsAtLeast: River's job list is read up to
// delivery.QueueCountCap jobs per queue and state, so a count there means
// "this many or more" and the dashboard shows it with a "+".
func TestQueueCountsAtTheCapShowAsAtLeast(t *testing.T) {
	c := &Console{loc: time.UTC}
	require.NoError(t, c.parse())
	d := &dashboardData{Queues: []queueRow{{Queue: "delivery", Available: 7, Scheduled: delivery.QueueCountCap, Retryable: delivery.QueueCountCap - 1}}}
	var buf bytes.Buffer
	require.NoError(t, c.pages["dashboard"].ExecuteTemplate(&buf, "layout.html", &view{Lang: "en", D: dashboardView{dashboardData: d}, c: c}))
	require.Contains(t, buf.String(), `<td class="card-title">delivery</td><td class="num" data-label="Waiting">7</td><td class="num" data-label="Running">0</td><td class="num" data-label="Scheduled">1,000+</td><td class="num" data-label="To retry">999</td><td class="num" data-label="Discarded (24 h)">0</td>`)
}
