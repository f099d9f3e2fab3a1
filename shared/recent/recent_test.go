package recent

import (
	"testing"
	"time"
)

func TestMap(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	m := &Map[string, int]{For: time.Minute, Max: 3}
	if _, ok := m.Get("a", now); ok {
		t.Fatal("an empty map answered")
	}
	m.Put("a", 1, now)
	if v, ok := m.Get("a", now.Add(59*time.Second)); !ok || v != 1 {
		t.Fatalf("within For: %v %v", v, ok)
	}
	if _, ok := m.Get("a", now.Add(time.Minute)); ok {
		t.Fatal("answered after For")
	}

	m.Put("b", 2, now)
	m.Put("c", 3, now)
	m.Delete("b")
	if _, ok := m.Get("b", now); ok {
		t.Fatal("a deleted key answered")
	}
	m.Put("ab", 4, now)
	m.DeleteFunc(func(k string) bool { return k[0] == 'a' })
	if _, ok := m.Get("ab", now); ok {
		t.Fatal("DeleteFunc kept a key it was told to delete")
	}
	if v, ok := m.Get("c", now); !ok || v != 3 {
		t.Fatal("DeleteFunc dropped a key it was not told to")
	}

	// Full: three entries, a fourth forgets the others.
	m.Put("d", 5, now)
	m.Put("e", 6, now)
	m.Put("f", 7, now)
	if _, ok := m.Get("c", now); ok {
		t.Fatal("a full map kept growing")
	}
	if v, ok := m.Get("f", now); !ok || v != 7 {
		t.Fatal("the entry that overflowed the map was not kept")
	}
}

// The zero Map remembers for DefaultFor and is safe for concurrent use.
func TestZeroMap(t *testing.T) {
	var m Map[int, int]
	now := time.Now()
	done := make(chan bool)
	for g := range 4 {
		go func() {
			for i := range 1000 {
				m.Put(g*1000+i, i, now)
				m.Get(i, now)
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	if _, ok := m.Get(1, now.Add(DefaultFor-time.Second)); !ok {
		t.Fatal("forgot before DefaultFor")
	}
	if _, ok := m.Get(1, now.Add(DefaultFor)); ok {
		t.Fatal("remembered for DefaultFor or more")
	}
}
