package todoapp

import (
	"context"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage"
)

// Todo is one task, owned by a todo AS account.
type Todo struct {
	ID        uint      `gorm:"primaryKey" json:"id"`
	OwnerID   string    `gorm:"index;size:32;not null" json:"-"`
	Title     string    `gorm:"size:500;not null" json:"title"`
	Done      bool      `json:"done"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MaxTitle bounds a todo's title.
const MaxTitle = 500

type store struct{ db *gorm.DB }

func (s *store) seed(ctx context.Context, todos map[string][]string) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Todo{}).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for owner, titles := range todos {
			for i, t := range titles {
				if err := tx.Create(&Todo{OwnerID: owner, Title: t, Done: i == len(titles)-1}).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *store) list(ctx context.Context, owner string) ([]Todo, error) {
	var out []Todo
	err := s.db.WithContext(ctx).Where("owner_id = ?", owner).Order("done, id").Find(&out).Error
	return out, err
}

// get returns the owner's todo; another owner's todo is ErrNotFound.
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
