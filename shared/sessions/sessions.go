package sessions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"

	"xaa.example/shared/recent"
	"xaa.example/shared/storage"
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

// seenFor is how long this process remembers a session as it last read or
// wrote it, to skip writing it back unchanged.
const seenFor = time.Minute

// GormStore is an scs.CtxStore over gorm. Every request reads its session
// from the database: replicas of a service share the table, and a session
// signed out on one must be gone on all at once. What it remembers of a
// session (seen) only spares the write of one that did not change.
type GormStore struct {
	db     *gorm.DB
	now    func() time.Time
	cached recent.Map[string, cachedSession] // by token: as last read or written here
	// purge paces the deletion of expired sessions, on the way of session
	// writes: every purgeEvery, purgeBatch at a time.
	purge storage.Purge
}

// purgeEvery is how often a running service deletes expired sessions, and
// purgeBatch the most one statement deletes (storage.Purge says why).
const (
	purgeEvery = 10 * time.Minute
	purgeBatch = 500
)

// cachedSession is a session as this process last read or wrote it.
type cachedSession struct {
	data   []byte
	expiry time.Time // as in the database
}

var _ scs.CtxStore = (*GormStore)(nil)

// NewGormStore returns a session store over db's web_sessions table.
func NewGormStore(db *gorm.DB) *GormStore {
	return &GormStore{db: db, now: time.Now, cached: recent.Map[string, cachedSession]{For: seenFor},
		purge: storage.Purge{Every: purgeEvery, Batch: purgeBatch}}
}

func (s *GormStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	now := s.now()
	var row SessionRow
	err := s.db.WithContext(ctx).Where("token = ? AND expiry > ?", token, now.UTC()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		s.cached.Delete(token)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	s.cached.Put(token, cachedSession{row.Data, row.Expiry}, now)
	return row.Data, true, nil
}

func (s *GormStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	now := s.now()
	if c, ok := s.cached.Get(token, now); ok && bytes.Equal(c.data, b) && expiry.Sub(c.expiry) < renewEvery {
		return nil // unchanged, and renewed less than a minute ago
	}
	row := SessionRow{Token: token, Data: b, Expiry: expiry.UTC()}
	if err := s.db.WithContext(ctx).Save(&row).Error; err != nil {
		s.cached.Delete(token)
		return err
	}
	s.cached.Put(token, cachedSession{b, expiry}, now)
	s.purge.Run(now, func(batch int) (int, error) { return s.purgeBatch(ctx, batch) })
	return nil
}

func (s *GormStore) DeleteCtx(ctx context.Context, token string) error {
	s.cached.Delete(token)
	return s.db.WithContext(ctx).Delete(&SessionRow{Token: token}).Error
}

func (s *GormStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}
func (s *GormStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}
func (s *GormStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// PurgeExpired deletes every expired session, a batch at a time.
func (s *GormStore) PurgeExpired(ctx context.Context) error {
	for {
		n, err := s.purgeBatch(ctx, purgeBatch)
		if err != nil || n < purgeBatch {
			return err
		}
	}
}

// purgeBatch deletes up to batch expired sessions, by their tokens: a
// short statement that locks only the rows it deletes.
func (s *GormStore) purgeBatch(ctx context.Context, batch int) (int, error) {
	var tokens []string
	err := s.db.WithContext(ctx).Model(&SessionRow{}).Where("expiry <= ?", s.now().UTC()).
		Order("expiry").Limit(batch).Pluck("token", &tokens).Error
	if err != nil || len(tokens) == 0 {
		return 0, err
	}
	return len(tokens), s.db.WithContext(ctx).Where("token IN ?", tokens).Delete(&SessionRow{}).Error
}

// jsonCodec encodes a session as JSON, its values grouped by Go type so
// that each decodes as the type it was (scs's GetInt64 asserts int64). It
// replaces scs's GobCodec for two reasons: gob sets up a new stream per
// session, a tenth of a page's CPU time under load; and gob encodes a map
// in Go's random order, so GormStore could not tell an unchanged session
// from a changed one. encoding/json sorts map keys.
type jsonCodec struct{}

type storedSession struct {
	Deadline time.Time            `json:"deadline"`
	Strings  map[string]string    `json:"strings,omitempty"`
	Int64s   map[string]int64     `json:"int64s,omitempty"`
	Ints     map[string]int       `json:"ints,omitempty"`
	Bools    map[string]bool      `json:"bools,omitempty"`
	Floats   map[string]float64   `json:"floats,omitempty"`
	Bytes    map[string][]byte    `json:"bytes,omitempty"`
	Times    map[string]time.Time `json:"times,omitempty"`
}

func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	out := storedSession{Deadline: deadline}
	for k, v := range values {
		switch v := v.(type) {
		case string:
			out.Strings = put(out.Strings, k, v)
		case int64:
			out.Int64s = put(out.Int64s, k, v)
		case int:
			out.Ints = put(out.Ints, k, v)
		case bool:
			out.Bools = put(out.Bools, k, v)
		case float64:
			out.Floats = put(out.Floats, k, v)
		case []byte:
			out.Bytes = put(out.Bytes, k, v)
		case time.Time:
			out.Times = put(out.Times, k, v)
		default:
			return nil, fmt.Errorf("session value %q is a %T; sessions hold strings, numbers, booleans, bytes and times", k, v)
		}
	}
	return json.Marshal(out)
}

func put[T any](m map[string]T, k string, v T) map[string]T {
	if m == nil {
		m = map[string]T{}
	}
	m[k] = v
	return m
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
	values := map[string]any{}
	collect(values, in.Strings)
	collect(values, in.Int64s)
	collect(values, in.Ints)
	collect(values, in.Bools)
	collect(values, in.Floats)
	collect(values, in.Bytes)
	collect(values, in.Times)
	return in.Deadline, values, nil
}

func collect[T any](into map[string]any, m map[string]T) {
	for k, v := range m {
		into[k] = v
	}
}

// New returns a session manager whose cookie is named cookieName:
// every service on localhost needs its own name, because browsers share
// cookies across ports. secure is false only for plain-http local runs.
func New(db *gorm.DB, cookieName string, secure bool) (*scs.SessionManager, error) {
	if err := storage.Migrate(db, "shared/sessions", schema...); err != nil {
		return nil, err
	}
	store := NewGormStore(db)
	// scs.New also makes an in-memory store, whose cleanup goroutine runs
	// for the life of the process (one per manager; scs has no other
	// constructor, and that store cannot be stopped without a race).
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

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&SessionRow{}) }},
}
