package debugconsole

import (
	_ "embed" // the console script is compiled in
	"fmt"
	"net/http"
	"time"
)

//go:embed static/console.js
var script []byte

// Script serves the console's script, which refreshes the runs live.
func Script(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(script)
}

// Events streams a server-sent event each time a run that v may see starts
// or ends, until the browser goes away.
func (c *Console) Events(w http.ResponseWriter, r *http.Request, v Viewer) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()

	updates, stop := c.Recorder.Subscribe()
	defer stop()
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	// A stream lasts two minutes; the browser reconnects by itself.
	end := time.NewTimer(2 * time.Minute)
	defer end.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case id := <-updates:
			if run := c.Recorder.Run(id); run == nil || !v.Sees(run) {
				continue
			}
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", id)
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		flusher.Flush()
	}
}
