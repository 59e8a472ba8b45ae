package sso

import (
	"fmt"
	"testing"
	"time"
)

// TestResultCacheBounds: the welcome-page cache keeps at most resultMax
// results, drops the oldest first and forgets results after resultTTL.
func TestResultCacheBounds(t *testing.T) {
	c := newResultCache()
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	for i := range resultMax + 100 {
		c.put(t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("r", i), welcomePage{Email: fmt.Sprint(i)})
	}
	if len(c.m) != resultMax || len(c.order) != resultMax {
		t.Fatalf("%d results kept (%d in order), want %d", len(c.m), len(c.order), resultMax)
	}
	now := t0.Add(time.Second)
	if _, ok := c.get(now, "r99"); ok {
		t.Error("an evicted (oldest) result is still served")
	}
	if p, ok := c.get(now, fmt.Sprint("r", resultMax+99)); !ok || p.Email != fmt.Sprint(resultMax+99) {
		t.Errorf("the newest result is missing: %+v %v", p, ok)
	}
	later := t0.Add(resultTTL + time.Minute)
	if _, ok := c.get(later, "r600"); ok {
		t.Error("a result older than resultTTL is served")
	}
	c.put(later, "fresh", welcomePage{})
	if len(c.m) != 1 || len(c.order) != 1 {
		t.Errorf("expired results not dropped on put: %d left", len(c.m))
	}
}

func TestHasDoctype(t *testing.T) {
	for s, want := range map[string]bool{
		`<!DOCTYPE x><x/>`: true, `<!doctype x>`: true, `<!DocType`: true, `<a/><!ENTITY e "x">`: true, `<!entity`: true,
		`<a/>`: false, `<!-- DOCTYPE -->`: false, `<!`: false, `<!DOCTYP`: false, `DOCTYPE`: false, `<! DOCTYPE`: false,
	} {
		if got := HasDoctype([]byte(s)); got != want {
			t.Errorf("HasDoctype(%q) = %v, want %v", s, got, want)
		}
	}
}
