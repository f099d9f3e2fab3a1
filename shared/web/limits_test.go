package web

import (
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// endless is a body of n bytes that is never held in memory, counting what
// the server read of it.
type endless struct {
	left int64
	read *atomic.Int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > e.left {
		n = e.left
	}
	for i := range p[:n] {
		p[i] = 'a'
	}
	e.left -= n
	e.read.Add(n)
	return int(n), nil
}

func TestLimitBodies(t *testing.T) {
	var handled atomic.Int64
	srv := httptest.NewServer(LimitBodies(FormBytes, Meta{Service: "test"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "got "+r.PostForm.Get("a"))
	})))
	defer srv.Close()

	const hundredMB = 100 << 20
	for _, tc := range []struct {
		name, contentType string
		size              int64
		chunked           bool
		want              int
	}{
		{name: "small form", contentType: "application/x-www-form-urlencoded", size: 10, want: http.StatusOK},
		{name: "100 MB multipart", contentType: "multipart/form-data; boundary=x", size: hundredMB, want: http.StatusUnsupportedMediaType},
		{name: "100 MB multipart, chunked", contentType: "multipart/form-data; boundary=x", size: hundredMB, chunked: true, want: http.StatusUnsupportedMediaType},
		{name: "100 MB form", contentType: "application/x-www-form-urlencoded", size: hundredMB, want: http.StatusRequestEntityTooLarge},
		{name: "100 MB form, chunked", contentType: "application/x-www-form-urlencoded", size: hundredMB, chunked: true, want: http.StatusRequestEntityTooLarge},
		{name: "100 MB JSON", contentType: "application/json", size: hundredMB, want: http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			handled.Store(0)
			var read atomic.Int64
			var body io.Reader = &endless{left: tc.size, read: &read}
			if tc.size == 10 {
				body = strings.NewReader("a=12345678")
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", body)
			req.Header.Set("Content-Type", tc.contentType)
			if !tc.chunked {
				req.ContentLength = tc.size
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("post: %v", err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, answer)
			}
			if tc.want != http.StatusOK {
				if handled.Load() != 0 {
					t.Error("the handler ran")
				}
				if !strings.Contains(string(answer), `"error":"invalid_request"`) {
					t.Errorf("answer %s, want an OAuth-style error", answer)
				}
			}
			// Loopback socket buffers take a few MB before the refusal
			// arrives; a server that read on would take all 100.
			if n := read.Load(); n > 16<<20 {
				t.Errorf("the client sent %d MB before the refusal: the server read on", n>>20)
			}
		})
	}

	// A browser gets a page.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader("--x--"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(page), "takes no uploads") {
		t.Errorf("browser: %d %s", resp.StatusCode, page)
	}
}

// TestUploads: a path that takes a file takes a multipart form within the
// same bound; every other path still refuses one.
func TestUploads(t *testing.T) {
	srv := httptest.NewServer(LimitBodies(FormBytes, Meta{Service: "test"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(FormBytes); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer f.Close()
		_, _ = io.Copy(w, f)
	}), Uploads("/upload")))
	defer srv.Close()
	post := func(path string, size int64) (int, string) {
		t.Helper()
		var body strings.Builder
		form := multipart.NewWriter(&body)
		file, _ := form.CreateFormFile("file", "metadata.xml")
		_, _ = io.WriteString(file, "<EntityDescriptor/>"+strings.Repeat(" ", int(size)))
		_ = form.Close()
		resp, err := http.Post(srv.URL+path, form.FormDataContentType(), strings.NewReader(body.String()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post("/upload", 0); status != http.StatusOK || !strings.HasPrefix(body, "<EntityDescriptor/>") {
		t.Errorf("a small file where uploads are taken: %d %s", status, body)
	}
	if status, _ := post("/upload", FormBytes); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a file past the bound: %d", status)
	}
	if status, _ := post("/login", 0); status != http.StatusUnsupportedMediaType {
		t.Errorf("a file elsewhere: %d", status)
	}
}
