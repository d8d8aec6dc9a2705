package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/app"
	"carillon/internal/pgdev"
	"carillon/server"
)

const (
	receiptBatch   = 100 // reports per push, as Aliyun batches its SmsReport pushes
	receiptClients = 8   // pushes in flight at once
)

// benchReceipts measures delivery receipts applied per second through the real
// webhook handler: size sent SMS in the outbox, their Aliyun SmsReport pushes
// (batches of 100, 8 in flight) posted to the server's
// /hooks/aliyun/{name}/receipts, each parsed, matched to its message and
// applied with its timeline event before the push is answered. The baseline
// is the bare status UPDATE of the same messages in the same batches and
// concurrency, in the same run. Goal: at least 10,000 receipts/s.
func benchReceipts(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*Figure, error) {
	f := &Figure{Unit: "receipts/s", BaselineName: "bare UPDATE rows/s", Size: size, Goal: ">= 10000 receipts/s"}
	return eachRun(ctx, e, srv, f, "receipts", runs, func(pool *pgxpool.Pool) (float64, float64, error) {
		return receiptsOnce(ctx, e, pool, size)
	})
}

func receiptsOnce(ctx context.Context, e *env, pool *pgxpool.Pool, size int) (rate, base float64, err error) {
	built, err := startProviders(ctx, pool, channels.ProviderConfig{Name: "ali", Provider: channels.KindAliyun, Endpoint: channels.EndpointSandbox,
		WebhookSecretEnv: benchHookEnv})
	if err != nil {
		return 0, 0, err
	}
	defer built.Stop(context.WithoutCancel(ctx))
	world, err := app.NewServices(pool, app.ServicesConfig{Registry: built.Registry})
	if err != nil {
		return 0, 0, err
	}
	ids, err := world.Contacts.SeedBenchPhones(ctx, 1000)
	if err != nil {
		return 0, 0, err
	}
	if err := world.Delivery.SeedBenchSent(ctx, size, ids, "ali"); err != nil {
		return 0, 0, err
	}
	api, err := server.New(server.Config{Logger: e.logger, RateLimit: -1}, server.Deps{Pool: pool, Contacts: world.Contacts, Delivery: world.Delivery, Registry: built.Registry})
	if err != nil {
		return 0, 0, err
	}
	hs := httptest.NewServer(api.Handler())
	defer hs.Close()
	url := hs.URL + "/hooks/aliyun/ali/receipts?token=" + benchHook

	bodies := make([][]byte, 0, size/receiptBatch+1)
	var batches [][]string
	now := time.Now().In(shanghai()).Format("2006-01-02 15:04:05")
	for start := 1; start <= size; start += receiptBatch {
		var reps []map[string]any
		var batch []string
		for i := start; i < start+receiptBatch && i <= size; i++ {
			reps = append(reps, map[string]any{"phone_number": "13800000000", "send_time": now, "report_time": now,
				"success": i%50 != 0, "err_code": map[bool]string{true: "DELIVERED", false: "MK:0001"}[i%50 != 0], "err_msg": "",
				"sms_size": "1", "biz_id": fmt.Sprintf("biz%d", i), "out_id": ""})
			batch = append(batch, fmt.Sprintf("biz%d", i))
		}
		b, _ := json.Marshal(reps)
		bodies = append(bodies, b)
		batches = append(batches, batch)
	}
	took, err := inParallel(len(bodies), func(i int) error {
		resp, err := http.Post(url, "application/json", bytes.NewReader(bodies[i]))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("receipt push answered %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	sum, err := world.Delivery.Summary(ctx, true)
	if err != nil {
		return 0, 0, err
	}
	final := countOutbox(sum, "", delivery.StatusDelivered, delivery.StatusFailed)
	events, err := world.Contacts.CountEvents(ctx, "message.delivered", "message.failed")
	if err != nil {
		return 0, 0, err
	}
	if final != size || events != size {
		return 0, 0, fmt.Errorf("receipts: %d of %d messages final, %d timeline events", final, size, events)
	}

	if err := world.Delivery.ResetBenchSent(ctx); err != nil {
		return 0, 0, err
	}
	baseTook, err := inParallel(len(batches), func(i int) error {
		return world.Delivery.BareMarkDelivered(ctx, "ali", batches[i])
	})
	if err != nil {
		return 0, 0, err
	}
	return float64(size) / took.Seconds(), float64(size) / baseTook.Seconds(), nil
}

// inParallel runs do(0..n-1) on receiptClients goroutines and returns the wall
// time and the first error.
func inParallel(n int, do func(i int) error) (time.Duration, error) {
	start := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range receiptClients {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return time.Since(start), first
}
