package cellmqtt

import (
	"sync"

	"github.com/cellmqtt/cellmqtt/queue"
)

// tokenTable maps queue entries to the PublishTokens waiting for them.
//
// The sender may finish an entry (or the queue drop it) before Publish had
// the chance to register its token, because Put returns only after the
// entry is visible. While a Put is in progress, such early results are kept
// until the token arrives.
type tokenTable struct {
	mu      sync.Mutex
	tokens  map[queue.ID]*PublishToken
	early   map[queue.ID]error
	putting int
	closed  error // set by failAll: later registrations fail with it
}

func (t *tokenTable) init() {
	t.tokens = make(map[queue.ID]*PublishToken)
	t.early = make(map[queue.ID]error)
}

// open accepts registrations again (a new Connect).
func (t *tokenTable) open() {
	t.mu.Lock()
	t.closed = nil
	t.mu.Unlock()
}

// beginPut announces a Put whose token will follow (register or abandon).
func (t *tokenTable) beginPut() {
	t.mu.Lock()
	t.putting++
	t.mu.Unlock()
}

// abandon ends a Put that failed.
func (t *tokenTable) abandon() {
	t.mu.Lock()
	t.endPutLocked()
	t.mu.Unlock()
}

func (t *tokenTable) endPutLocked() {
	t.putting--
	if t.putting == 0 {
		clear(t.early)
	}
}

// register attaches tok to entry id, completing it at once when the entry
// was already finished.
func (t *tokenTable) register(id queue.ID, tok *PublishToken) {
	t.mu.Lock()
	err, done := t.early[id]
	if !done && t.closed != nil {
		err, done = t.closed, true
	}
	if done {
		delete(t.early, id)
	} else {
		t.tokens[id] = tok
	}
	t.endPutLocked()
	t.mu.Unlock()
	if done {
		tok.finish(err)
	}
}

// complete finishes the token of entry id with err; it reports whether a
// token was waiting.
func (t *tokenTable) complete(id queue.ID, err error) bool {
	t.mu.Lock()
	tok, ok := t.tokens[id]
	if ok {
		delete(t.tokens, id)
	} else if t.putting > 0 {
		t.early[id] = err
	}
	t.mu.Unlock()
	if ok {
		tok.finish(err)
	}
	return ok
}

// completeBefore fails the tokens of entries older than head (they left the
// queue without being sent: dropped by a queue the client does not own).
func (t *tokenTable) completeBefore(head queue.ID, err error) {
	var done []*PublishToken
	t.mu.Lock()
	for id, tok := range t.tokens {
		if id < head {
			done = append(done, tok)
			delete(t.tokens, id)
		}
	}
	t.mu.Unlock()
	for _, tok := range done {
		tok.finish(err)
	}
}

// failAll fails every waiting token with err.
func (t *tokenTable) failAll(err error) {
	t.mu.Lock()
	toks := t.tokens
	t.tokens = make(map[queue.ID]*PublishToken)
	t.closed = err
	t.mu.Unlock()
	for _, tok := range toks {
		tok.finish(err)
	}
}

// waiting is the number of registered tokens.
func (t *tokenTable) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.tokens)
}
