package debugconsole

import (
	"context"
	"net/http"
	"testing"

	"xaa.example/shared/trace"
)

// TestViewsShowOnlyCollectedRuns: a run is shown only with its steps
// collected, newest first; older runs are left out rather than shown as if
// they had made no request.
func TestViewsShowOnlyCollectedRuns(t *testing.T) {
	store := trace.NewStore("wiki")
	rec := NewRecorder()
	c := &Console{Recorder: rec, Collector: &Collector{Local: store, Client: http.DefaultClient}}
	var ids []string
	for range 3 {
		_, run := rec.Start(context.Background(), "run", Viewer{Subject: "bob-sub", Email: "bob"})
		ids = append(ids, run.ID)
		// A step the todo API recorded under the run's trace.
		store.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(
			&nopWriter{h: http.Header{}}, requestWithTrace(run.ID))
		run.Finish("done", false)
	}
	views := c.Views(context.Background(), 2, Viewer{Subject: "bob-sub"})
	if len(views) != 2 || views[0].Run.ID != ids[2] || views[1].Run.ID != ids[1] {
		t.Fatalf("views: %d, want the two newest runs", len(views))
	}
	for _, v := range views {
		if len(v.Steps) != 1 || v.Diagram.Height == 0 {
			t.Errorf("run %s shown with %d steps, want its step collected", v.Run.ID, len(v.Steps))
		}
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func requestWithTrace(id string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/api/todos", nil)
	r.Header.Set(trace.HeaderTrace, id)
	r.Header.Set(trace.HeaderFrom, "wiki")
	return r
}
