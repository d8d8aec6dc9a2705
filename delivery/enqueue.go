package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/channels"
	"carillon/internal/apperr"
	"carillon/internal/clock"
)

// Planned is a message to enqueue.
type Planned struct {
	DedupeKey   string           // unique: birthday:<contact>:lunar:<year>, campaign:<run>:<address>, ...
	ContactID   int64            // the customer, or
	ManagerID   int64            // a customer manager (digests, alerts)
	Source      string           // care_rule, campaign_run, reminder, api
	SourceID    string           // the rule, run or caller's id
	Purpose     channels.Purpose // service or marketing
	TemplateKey string           // templates key
	// TemplateVersion pins the template's version (a campaign's approved
	// text); 0 renders the version active at send time.
	TemplateVersion int
	Vars            map[string]any     // the source's variables
	Channels        []channels.Channel // in order of preference
	SendAt          time.Time          // earliest send time; zero: now
	// Deadline is when the message stops being worth sending (a greeting's
	// day ends, a deposit matures, a campaign ends): a message not sent by then
	// is cancelled with reason expired, never sent late. Zero: none.
	Deadline time.Time
	Window   *Window // the source's own send window, local time
	Test     bool    // a campaign's test send: no consent or cap checks
	// RequestHash identifies the request that asked for the message (an API
	// call's canonical body): the same dedupe key with another hash is a key
	// reused for a different request (DuplicateOf).
	RequestHash []byte
}

// NoteVar is the key of Planned.Vars whose string the message's timeline events
// carry as "note": the planner's word on how it chose the message ("lunar 30th
// greeted on the 29th"), so the timeline states the rule used.
const NoteVar = "Note"

// EnqueueResult says what Enqueue did.
type EnqueueResult struct {
	IDs        []int64  // ids of the new messages, in input order of the new ones
	Duplicates []string // dedupe keys that existed already: nothing was inserted for them
}

// DeliverArgs is the deliver job: the messages it sends.
type DeliverArgs struct {
	MessageIDs []int64 `json:"message_ids"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "delivery.deliver" }

// Service is delivery's entry point: enqueue, the worker, receipts, stops.
type Service struct {
	cfg      Config
	pool     *pgxpool.Pool
	inserter *river.Client[pgx.Tx] // insert-only: enqueues jobs in callers' transactions
	deps     Deps
	metrics  *metrics
	links    *Links
}

// Deps are what the worker sends with.
type Deps struct {
	Registry *channels.Registry
	Renderer Renderer
}

// New returns the delivery service.
func New(pool *pgxpool.Pool, cfg Config, deps Deps) (*Service, error) {
	riverTime := clock.River(cfg.Now)
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ins, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: cfg.Logger, Test: river.TestConfig{Time: riverTime}})
	if err != nil {
		return nil, fmt.Errorf("delivery: river inserter: %w", err)
	}
	links, err := loadLinks(context.Background(), pool, cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, pool: pool, inserter: ins, deps: deps, metrics: newMetrics(), links: links}, nil
}

// Links returns the service's link signer.
func (s *Service) Links() *Links { return s.links }

// Config returns the service's configuration, defaults applied.
func (s *Service) Config() Config { return s.cfg }

// Errors.
var (
	ErrNotFound = apperr.NotFound("not found", "")
	ErrInvalid  = apperr.Invalid("invalid message")
)

func (p Planned) check() error {
	switch {
	case p.DedupeKey == "" || len(p.DedupeKey) > 300:
		return fmt.Errorf("%w: dedupe key must be 1–300 characters", ErrInvalid)
	case (p.ContactID == 0) == (p.ManagerID == 0):
		return fmt.Errorf("%w: %s: exactly one of contact and manager", ErrInvalid, p.DedupeKey)
	case p.Purpose != channels.PurposeService && p.Purpose != channels.PurposeCare && p.Purpose != channels.PurposeMarketing:
		return fmt.Errorf("%w: %s: purpose %q", ErrInvalid, p.DedupeKey, p.Purpose)
	case p.TemplateKey == "":
		return fmt.Errorf("%w: %s: no template", ErrInvalid, p.DedupeKey)
	case p.TemplateVersion < 0:
		return fmt.Errorf("%w: %s: template version %d", ErrInvalid, p.DedupeKey, p.TemplateVersion)
	case len(p.Channels) == 0:
		return fmt.Errorf("%w: %s: no channel", ErrInvalid, p.DedupeKey)
	}
	for _, c := range p.Channels {
		if !slices.Contains([]channels.Channel{channels.SMS, channels.Email, channels.WeChat, channels.WeCom}, c) {
			return fmt.Errorf("%w: %s: unknown channel %q", ErrInvalid, p.DedupeKey, c)
		}
	}
	if w := p.Window; w != nil && (w.Start < 0 || w.End > 24*60 || w.Start >= w.End) {
		return fmt.Errorf("%w: %s: send window %d..%d is not a window of the day", ErrInvalid, p.DedupeKey, w.Start, w.End)
	}
	return nil
}

const insertMessagesSQL = `INSERT INTO messages (dedupe_key, contact_id, manager_id, source, source_id, purpose, template_key, vars,
  channels, send_at, window_start, window_end, test, created_at, updated_at, parent_id, template_version, deadline, request_hash)
SELECT k, NULLIF(c, 0), NULLIF(m, 0), src, sid, p, t, v, string_to_array(ch, ','), sa,
  CASE WHEN ws >= 0 THEN ws END, CASE WHEN we >= 0 THEN we END,
  tst, @now, @now, NULLIF(par, 0), NULLIF(tv, 0), dl, rh
FROM unnest(@keys::text[], @contacts::bigint[], @managers::bigint[], @sources::text[], @source_ids::text[], @purposes::text[], @templates::text[],
            @vars::jsonb[], @channels::text[], @send_at::timestamptz[], @window_start::int[], @window_end::int[], @tests::bool[], @parents::bigint[],
            @versions::int[], @deadlines::timestamptz[], @hashes::bytea[])
  AS u(k, c, m, src, sid, p, t, v, ch, sa, ws, we, tst, par, tv, dl, rh)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id, dedupe_key, send_at`

// enqueueBatch is the most rows one insert statement carries.
const enqueueBatch = 5000

// Enqueue writes messages and their deliver jobs in the caller's transaction. A
// dedupe key that exists already inserts nothing and is reported as a duplicate; a
// duplicate never aborts a batch.
func (s *Service) Enqueue(ctx context.Context, tx pgx.Tx, planned []Planned) (EnqueueResult, error) {
	return s.enqueue(ctx, tx, planned, nil)
}

func (s *Service) enqueue(ctx context.Context, tx pgx.Tx, planned []Planned, parents []int64) (EnqueueResult, error) {
	var res EnqueueResult
	now := s.cfg.Now()
	// The same key twice in one call: the first is planned, the others reported.
	seen := make(map[string]bool, len(planned))
	uniq := planned[:0:0]
	var uniqParents []int64
	for i, p := range planned {
		if seen[p.DedupeKey] {
			res.Duplicates = append(res.Duplicates, p.DedupeKey)
			continue
		}
		seen[p.DedupeKey] = true
		uniq = append(uniq, p)
		if parents != nil {
			uniqParents = append(uniqParents, parents[i])
		}
	}
	planned, parents = uniq, uniqParents
	for start := 0; start < len(planned); start += enqueueBatch {
		batch := planned[start:min(start+enqueueBatch, len(planned))]
		n := len(batch)
		keys, srcs, sids, purps, tmpls, chans := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		cids, mids, pars := make([]int64, n), make([]int64, n), make([]int64, n)
		vars := make([][]byte, n)
		sendAt := make([]time.Time, n)
		ws, we := make([]int32, n), make([]int32, n)
		tests := make([]bool, n)
		tvs := make([]int32, n)
		deadlines := make([]*time.Time, n)
		hashes := make([][]byte, n)
		for i, p := range batch {
			if err := p.check(); err != nil {
				return res, err
			}
			keys[i], cids[i], mids[i], srcs[i], sids[i], purps[i], tmpls[i] = p.DedupeKey, p.ContactID, p.ManagerID, p.Source, p.SourceID, string(p.Purpose), p.TemplateKey
			cs := make([]byte, 0, 32)
			for j, c := range p.Channels {
				if j > 0 {
					cs = append(cs, ',')
				}
				cs = append(cs, c...)
			}
			chans[i] = string(cs)
			v := p.Vars
			if v == nil {
				v = map[string]any{}
			}
			js, err := json.Marshal(v)
			if err != nil {
				return res, fmt.Errorf("%w: %s: vars: %w", ErrInvalid, p.DedupeKey, err)
			}
			vars[i] = js
			sendAt[i] = p.SendAt
			if sendAt[i].IsZero() {
				sendAt[i] = now
			}
			ws[i], we[i] = -1, -1
			if p.Window != nil {
				ws[i], we[i] = int32(p.Window.Start), int32(p.Window.End)
			}
			tests[i] = p.Test
			tvs[i] = int32(p.TemplateVersion)
			if !p.Deadline.IsZero() {
				deadlines[i] = &p.Deadline
			}
			if p.RequestHash != nil {
				hashes[i] = p.RequestHash
			}
			if parents != nil {
				pars[i] = parents[start+i]
			}
		}
		rows, err := tx.Query(ctx, insertMessagesSQL, pgx.NamedArgs{"keys": keys, "contacts": cids, "managers": mids, "sources": srcs, "source_ids": sids,
			"purposes": purps, "templates": tmpls, "vars": vars, "channels": chans, "send_at": sendAt, "window_start": ws, "window_end": we, "tests": tests,
			"now": now, "parents": pars, "versions": tvs, "deadlines": deadlines, "hashes": hashes})
		if err != nil {
			return res, fmt.Errorf("enqueue messages: %w", err)
		}
		inserted := map[string]bool{}
		type newMsg struct {
			id     int64
			sendAt time.Time
		}
		var fresh []newMsg
		for rows.Next() {
			var m newMsg
			var key string
			if err := rows.Scan(&m.id, &key, &m.sendAt); err != nil {
				rows.Close()
				return res, err
			}
			inserted[key] = true
			fresh = append(fresh, m)
		}
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("enqueue messages: %w", err)
		}
		for _, k := range keys {
			if !inserted[k] {
				res.Duplicates = append(res.Duplicates, k)
			}
		}
		ids := make([]int64, len(fresh))
		due := make([]time.Time, len(fresh))
		for i, m := range fresh {
			ids[i], due[i] = m.id, m.sendAt
			res.IDs = append(res.IDs, m.id)
		}
		if err := s.insertJobs(ctx, tx, ids, due); err != nil {
			return res, err
		}
	}
	return res, nil
}

// insertJobs writes deliver jobs for messages: consecutive messages due at the same
// time share a job of up to JobBatch messages.
func (s *Service) insertJobs(ctx context.Context, tx pgx.Tx, ids []int64, due []time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	var params []river.InsertManyParams
	now := s.cfg.Now()
	flush := func(batch []int64, at time.Time) {
		opts := &river.InsertOpts{Queue: s.cfg.Queue, MaxAttempts: 3}
		if at.After(now) {
			opts.ScheduledAt = at
		}
		params = append(params, river.InsertManyParams{Args: DeliverArgs{MessageIDs: slices.Clone(batch)}, InsertOpts: opts})
	}
	start := 0
	for i := 1; i <= len(ids); i++ {
		if i == len(ids) || i-start == s.cfg.JobBatch || !due[i].Equal(due[start]) {
			flush(ids[start:i], due[start])
			start = i
		}
	}
	if _, err := s.inserter.InsertManyFastTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue deliver jobs: %w", err)
	}
	return nil
}

// ErrKeyReused is DuplicateOf's answer when the key was first used for a
// different request.
var ErrKeyReused = errors.New("the key was used for a different request")

// DuplicateOf returns the message already holding dedupeKey. When hash is
// given and the message was enqueued with another request's hash it returns
// ErrKeyReused (a message enqueued before hashes were kept matches any).
func (s *Service) DuplicateOf(ctx context.Context, dedupeKey string, hash []byte) (int64, error) {
	var id int64
	var stored []byte
	err := s.pool.QueryRow(ctx, `SELECT id, request_hash FROM messages WHERE dedupe_key = $1`, dedupeKey).Scan(&id, &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("look up %s: %w", dedupeKey, err)
	}
	if hash != nil && stored != nil && !bytes.Equal(hash, stored) {
		return id, ErrKeyReused
	}
	return id, nil
}
