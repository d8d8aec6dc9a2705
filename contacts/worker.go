package contacts

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"
)

// PartitionWorker runs EnsurePartitionsArgs.
type PartitionWorker struct {
	river.WorkerDefaults[EnsurePartitionsArgs]
	Store *Store
}

// Work creates missing timeline partitions from this month on.
func (w *PartitionWorker) Work(ctx context.Context, job *river.Job[EnsurePartitionsArgs]) error {
	made, err := w.Store.EnsureEventPartitions(ctx, w.Store.cfg.Now(), EventPartitionsAhead)
	if err != nil {
		return err
	}
	if made > 0 {
		w.Store.cfg.Logger.InfoContext(ctx, "timeline partitions created", slog.Int("count", made))
	}
	return nil
}
