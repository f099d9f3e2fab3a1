package todoapp

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage"
)

// Todo is one task, owned by a todo AS account.
type Todo struct {
	ID        uint      `gorm:"primaryKey;index:idx_todos_page,priority:3" json:"id"`
	OwnerID   string    `gorm:"index;index:idx_todos_page,priority:1;size:32;not null" json:"-"`
	Title     string    `gorm:"size:500;not null" json:"title"`
	Done      bool      `gorm:"index:idx_todos_page,priority:2" json:"done"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MaxTitle bounds a todo's title.
const MaxTitle = 500

type store struct{ db *gorm.DB }

func (s *store) seed(ctx context.Context, todos []SeedTodos) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Todo{}).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, seed := range todos {
			for i, t := range seed.Titles {
				if err := tx.Create(&Todo{OwnerID: seed.Owner, Title: t, Done: i == len(seed.Titles)-1}).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Page is one page of an owner's todos, open ones first, each group oldest
// first, and where the next page starts.
type Page struct {
	Todos []Todo
	// Next is the cursor of the next page; empty on the last page.
	Next  string
	Total int64
	Open  int64
}

// Page sizes: what a page holds unless asked otherwise, and at most.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// cursor is where a page starts: after the todo (done, id), in list order.
// It is opaque to clients: "<0|1>.<id>", base64url.
type cursor struct {
	done bool
	id   uint
}

func (c cursor) String() string {
	d := "0"
	if c.done {
		d = "1"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(d + "." + strconv.FormatUint(uint64(c.id), 10)))
}

// errBadCursor is a cursor this server did not make.
var errBadCursor = errors.New("cursor is not one this API gave")

func parseCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 24 {
		return nil, errBadCursor
	}
	d, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseUint(id, 10, 32)
	if !ok || err != nil || (d != "0" && d != "1") {
		return nil, errBadCursor
	}
	return &cursor{done: d == "1", id: uint(n)}, nil
}

// page returns up to limit of the owner's todos after the cursor, with the
// counts; keyset paging on the (owner_id, done, id) index, so a page costs
// the same however long the list is.
func (s *store) page(ctx context.Context, owner, after string, limit int) (*Page, error) {
	c, err := parseCursor(after)
	if err != nil {
		return nil, err
	}
	limit = max(1, min(limit, MaxPageSize))
	db := s.db.WithContext(ctx)
	out := &Page{}
	if c == nil {
		// The first page and the counts in one query (window functions,
		// in SQLite and MariaDB alike): a page is one round trip.
		var rows []struct {
			Todo       `gorm:"embedded"`
			TotalCount int64
			OpenCount  int64
		}
		err := db.Raw(`SELECT id, owner_id, title, done, created_at, updated_at,
			COUNT(*) OVER () AS total_count, SUM(CASE WHEN done THEN 0 ELSE 1 END) OVER () AS open_count
			FROM todos WHERE owner_id = ? ORDER BY done, id LIMIT ?`, owner, limit+1).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out.Todos = append(out.Todos, r.Todo)
			out.Total, out.Open = r.TotalCount, r.OpenCount
		}
	} else {
		err := db.Where("owner_id = ? AND (done > ? OR (done = ? AND id > ?))", owner, c.done, c.done, c.id).
			Order("done, id").Limit(limit + 1).Find(&out.Todos).Error
		if err != nil {
			return nil, err
		}
		var counts struct{ Total, Open int64 }
		err = db.Model(&Todo{}).Select("COUNT(*) AS total, COALESCE(SUM(CASE WHEN done THEN 0 ELSE 1 END), 0) AS open").
			Where("owner_id = ?", owner).Scan(&counts).Error
		if err != nil {
			return nil, err
		}
		out.Total, out.Open = counts.Total, counts.Open
	}
	if len(out.Todos) > limit {
		out.Todos = out.Todos[:limit]
		last := out.Todos[limit-1]
		out.Next = cursor{done: last.Done, id: last.ID}.String()
	}
	return out, nil
}

// get returns the owner's todo; another owner's todo is ErrNotFound.
// byIDs returns those of ids that are owner's todos; others' and missing
// ones are left out.
func (s *store) byIDs(ctx context.Context, owner string, ids []uint) ([]Todo, error) {
	var out []Todo
	err := s.db.WithContext(ctx).Where("owner_id = ? AND id IN ?", owner, ids).Order("id").Find(&out).Error
	return out, err
}

func (s *store) get(ctx context.Context, owner string, id uint) (*Todo, error) {
	var t Todo
	err := s.db.WithContext(ctx).Where("owner_id = ? AND id = ?", owner, id).Take(&t).Error
	return &t, storage.Translate(err)
}

func (s *store) add(ctx context.Context, owner, title string) (*Todo, error) {
	t := Todo{OwnerID: owner, Title: title}
	return &t, s.db.WithContext(ctx).Create(&t).Error
}

// toggle flips the owner's todo between open and done.
func (s *store) toggle(ctx context.Context, owner string, id uint) (*Todo, error) {
	t, err := s.get(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	t.Done = !t.Done
	return t, s.db.WithContext(ctx).Model(t).Update("done", t.Done).Error
}

func (s *store) remove(ctx context.Context, owner string, id uint) error {
	res := s.db.WithContext(ctx).Where("owner_id = ? AND id = ?", owner, id).Delete(&Todo{})
	if res.Error == nil && res.RowsAffected == 0 {
		return storage.ErrNotFound
	}
	return res.Error
}

// rename changes the owner's todo's title.
func (s *store) rename(ctx context.Context, owner string, id uint, title string) error {
	t, err := s.get(ctx, owner, id)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Model(t).Update("title", title).Error
}
