package web

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"
)

// SessionRow is one server-side session. Only the random token is in the
// browser's cookie; everything else stays here.
type SessionRow struct {
	Token  string    `gorm:"primaryKey;size:64"`
	Data   []byte    `gorm:"not null"`
	Expiry time.Time `gorm:"index;not null"`
}

// TableName keeps each service's session table distinct from its own tables.
func (SessionRow) TableName() string { return "web_sessions" }

// renewEvery is how far a session's idle expiry may lag behind before an
// otherwise unchanged session is written again. scs renews the expiry on
// every request when IdleTimeout is set, which would make every page view a
// database write; this way a session is written when it changes, or at most
// once a minute for the renewal, and the idle timeout is at most a minute
// shorter than configured.
const renewEvery = time.Minute

// maxLoaded bounds the memory of loaded sessions kept for that comparison.
const maxLoaded = 10_000

// GormStore is an scs.CtxStore over gorm.
type GormStore struct {
	db *gorm.DB

	mu     sync.Mutex
	loaded map[string]loadedSession // by token: what this request read
}

// loadedSession is a session as read, to tell a pure renewal from a change.
type loadedSession struct {
	sum    [sha256.Size]byte
	expiry time.Time
}

var _ scs.CtxStore = (*GormStore)(nil)

// NewGormStore returns a session store over db's web_sessions table.
func NewGormStore(db *gorm.DB) *GormStore {
	return &GormStore{db: db, loaded: map[string]loadedSession{}}
}

func (s *GormStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var row SessionRow
	err := s.db.WithContext(ctx).Where("token = ? AND expiry > ?", token, time.Now().UTC()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	if len(s.loaded) >= maxLoaded {
		clear(s.loaded) // only an optimisation is lost
	}
	s.loaded[token] = loadedSession{sum: sha256.Sum256(row.Data), expiry: row.Expiry}
	s.mu.Unlock()
	return row.Data, true, nil
}

func (s *GormStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	s.mu.Lock()
	was, ok := s.loaded[token]
	delete(s.loaded, token)
	s.mu.Unlock()
	if ok && was.sum == sha256.Sum256(b) && expiry.Sub(was.expiry) < renewEvery {
		return nil // unchanged, and renewed less than a minute ago
	}
	row := SessionRow{Token: token, Data: b, Expiry: expiry.UTC()}
	return s.db.WithContext(ctx).Save(&row).Error
}

func (s *GormStore) DeleteCtx(ctx context.Context, token string) error {
	s.mu.Lock()
	delete(s.loaded, token)
	s.mu.Unlock()
	return s.db.WithContext(ctx).Delete(&SessionRow{Token: token}).Error
}

func (s *GormStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}
func (s *GormStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}
func (s *GormStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// PurgeExpired deletes expired sessions.
func (s *GormStore) PurgeExpired(ctx context.Context) error {
	return s.db.WithContext(ctx).Where("expiry <= ?", time.Now().UTC()).Delete(&SessionRow{}).Error
}

// jsonCodec encodes a session as JSON, each value tagged with its Go type
// so that it decodes to the same type (scs's GetInt64 asserts int64). It
// replaces scs's GobCodec for two reasons: gob sets up a new stream per
// session, a tenth of a page's CPU time under load; and gob encodes a map
// in Go's random order, so GormStore could not tell an unchanged session
// from a changed one. encoding/json sorts map keys.
type jsonCodec struct{}

type storedSession struct {
	Deadline time.Time              `json:"deadline"`
	Values   map[string]storedValue `json:"values"`
}

type storedValue struct {
	Type  string          `json:"t"`
	Value json.RawMessage `json:"v"`
}

func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	out := storedSession{Deadline: deadline, Values: make(map[string]storedValue, len(values))}
	for k, v := range values {
		var typ string
		switch v.(type) {
		case string:
			typ = "string"
		case int64:
			typ = "int64"
		case int:
			typ = "int"
		case bool:
			typ = "bool"
		case float64:
			typ = "float64"
		case []byte:
			typ = "bytes"
		case time.Time:
			typ = "time"
		default:
			return nil, fmt.Errorf("session value %q is a %T; sessions hold strings, numbers, booleans, bytes and times", k, v)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out.Values[k] = storedValue{typ, raw}
	}
	return json.Marshal(out)
}

func (jsonCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) == 0 || b[0] != '{' {
		// Saved before this codec, by scs's GobCodec: read it as such.
		return scs.GobCodec{}.Decode(b)
	}
	var in storedSession
	if err := json.Unmarshal(b, &in); err != nil {
		return time.Time{}, nil, err
	}
	values := make(map[string]any, len(in.Values))
	for k, sv := range in.Values {
		var err error
		switch sv.Type {
		case "string":
			values[k], err = decodeAs[string](sv.Value)
		case "int64":
			values[k], err = decodeAs[int64](sv.Value)
		case "int":
			values[k], err = decodeAs[int](sv.Value)
		case "bool":
			values[k], err = decodeAs[bool](sv.Value)
		case "float64":
			values[k], err = decodeAs[float64](sv.Value)
		case "bytes":
			values[k], err = decodeAs[[]byte](sv.Value)
		case "time":
			values[k], err = decodeAs[time.Time](sv.Value)
		default:
			err = fmt.Errorf("unknown type %q", sv.Type)
		}
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("session value %q: %w", k, err)
		}
	}
	return in.Deadline, values, nil
}

func decodeAs[T any](raw json.RawMessage) (T, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}

// NewSessions returns a session manager whose cookie is named cookieName:
// every service on localhost needs its own name, because browsers share
// cookies across ports. secure is false only for plain-http local runs.
func NewSessions(db *gorm.DB, cookieName string, secure bool) (*scs.SessionManager, error) {
	if err := db.AutoMigrate(&SessionRow{}); err != nil {
		return nil, err
	}
	store := NewGormStore(db)
	_ = store.PurgeExpired(context.Background())
	sm := scs.New()
	sm.Store = store
	sm.Codec = jsonCodec{}
	sm.Lifetime = 12 * time.Hour
	sm.IdleTimeout = 2 * time.Hour
	sm.Cookie.Name = cookieName
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Path = "/"
	return sm, nil
}
