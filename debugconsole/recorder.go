package debugconsole

import (
	"context"
	"strings"
	"sync"
	"time"

	"xaa.example/shared/trace"
)

// MaxRuns bounds the runs the recorder remembers, everyone's together.
const MaxRuns = 100

// Recorder remembers the recent chain runs and tells subscribers when one
// starts or ends, for the console's live updates.
type Recorder struct {
	Now func() time.Time

	mu          sync.Mutex
	runs        []*Run // oldest first
	subscribers map[chan string]struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{Now: time.Now, subscribers: map[chan string]struct{}{}}
}

// Run is one user action that went through the chain; its ID is the trace
// id every service records its steps under.
type Run struct {
	ID    string
	Title string
	// User is the email of the person the run was made for, and Owner their
	// subject: a run is shown to its owner alone (and to console admins).
	User    string
	Owner   string
	Started time.Time
	// ByAgent: the agent reported the run (Report); it knows the person by
	// the IdP's identity, not the wiki's, so the run is theirs by the email
	// the IdP vouched for.
	ByAgent bool

	mu      sync.Mutex
	outcome string
	detail  string
	failed  bool
	done    bool
	rec     *Recorder
}

// Start begins a run; requests made with the returned context carry its
// trace id.
func (r *Recorder) Start(ctx context.Context, title string, who Viewer) (context.Context, *Run) {
	run := &Run{ID: trace.NewID(), Title: title, User: who.Email, Owner: who.Subject, Started: r.Now(), rec: r}
	r.mu.Lock()
	r.runs = append(r.runs, run)
	if len(r.runs) > MaxRuns {
		r.runs = r.runs[len(r.runs)-MaxRuns:]
	}
	r.mu.Unlock()
	r.publish(run.ID)
	return trace.WithID(ctx, run.ID), run
}

// Resume takes up a run of who's again, after it waited for the person (a
// step-up sign-in): requests made with the returned context carry its
// trace id, so the console shows the refusal, the sign-in's outcome and
// the retry as one run. ok is false when the run is gone or another's.
func (r *Recorder) Resume(ctx context.Context, id string, who Viewer) (context.Context, *Run, bool) {
	run := r.Run(id)
	if run == nil || run.ByAgent || run.Owner != who.Subject {
		return ctx, nil, false
	}
	run.mu.Lock()
	run.done = false
	run.mu.Unlock()
	r.publish(id)
	return trace.WithID(ctx, id), run, true
}

// Report records a run the agent made on its own, which the console only
// hears of once it is over: its steps are in the services it called,
// under id. who is the person the IdP's ID token names. A run id already
// known is refused.
func (r *Recorder) Report(id, title string, who Viewer, started time.Time, outcome string, failed bool) bool {
	run := &Run{ID: id, Title: title, User: who.Email, Started: started, ByAgent: true, rec: r,
		outcome: outcome, failed: failed, done: true}
	r.mu.Lock()
	for _, known := range r.runs {
		if known.ID == id {
			r.mu.Unlock()
			return false
		}
	}
	r.runs = append(r.runs, run)
	if len(r.runs) > MaxRuns {
		r.runs = r.runs[len(r.runs)-MaxRuns:]
	}
	r.mu.Unlock()
	r.publish(id)
	return true
}

// Finish records the outcome of the run in plain words.
func (run *Run) Finish(outcome string, failed bool) { run.FinishDetail(outcome, "", failed) }

// FinishDetail records the outcome in plain words and, one click away on
// the page, its protocol detail (the error code and description a server
// answered).
func (run *Run) FinishDetail(outcome, detail string, failed bool) {
	run.mu.Lock()
	run.outcome, run.detail, run.failed, run.done = outcome, detail, failed, true
	run.mu.Unlock()
	run.rec.publish(run.ID)
}

// Detail is the outcome's protocol detail, if any.
func (run *Run) Detail() string {
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.detail
}

// Outcome returns the run's outcome; done is false while it runs.
func (run *Run) Outcome() (outcome string, failed, done bool) {
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.outcome, run.failed, run.done
}

// Runs returns the recorded runs, newest first.
func (r *Recorder) Runs() []*Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Run, 0, len(r.runs))
	for i := len(r.runs) - 1; i >= 0; i-- {
		out = append(out, r.runs[i])
	}
	return out
}

// Viewer is who looks at the console (or for whom a run is made): a
// person sees their own runs; All, for console admins, sees everyone's.
type Viewer struct {
	Subject string
	Email   string
	All     bool
}

// Sees reports whether v may see run: their own, or one the agent ran
// for the person with their email.
func (v Viewer) Sees(run *Run) bool {
	if run.ByAgent {
		return v.All || (v.Email != "" && strings.EqualFold(run.User, v.Email))
	}
	return v.All || (v.Subject != "" && run.Owner == v.Subject)
}

// Run returns the run with id, or nil.
func (r *Recorder) Run(id string) *Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, run := range r.runs {
		if run.ID == id {
			return run
		}
	}
	return nil
}

// Subscribe returns a channel of run ids that changed, and a function to
// stop. A slow subscriber misses updates rather than blocking runs.
func (r *Recorder) Subscribe() (<-chan string, func()) {
	ch := make(chan string, 8)
	r.mu.Lock()
	r.subscribers[ch] = struct{}{}
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.subscribers, ch)
		r.mu.Unlock()
	}
}

func (r *Recorder) publish(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.subscribers {
		select {
		case ch <- id:
		default:
		}
	}
}
