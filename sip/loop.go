package sip

import (
	"context"
	"sync"
	"time"
)

// loopControl is the stop, done and kick plumbing of the background loops
// that keep a registration or a subscription alive.
type loopControl struct {
	stopOnce sync.Once
	stop     chan struct{} // closed to ask the loop to end
	done     chan struct{} // closed by the loop when it has ended
	kick     chan struct{} // asks for an immediate refresh
}

func newLoopControl() loopControl {
	return loopControl{stop: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// poke asks for an immediate refresh without blocking.
func (l *loopControl) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// halt asks the loop to end and waits for it, bounded by ctx. It is
// idempotent.
func (l *loopControl) halt(ctx context.Context) error {
	l.stopOnce.Do(func() { close(l.stop) })
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loopContext returns the context a background loop's requests run
// under. It is cancelled when stop or uaClosed is closed; the stopping
// channel is closed just before. The loop calls cancel when it ends,
// which also releases the watching goroutine.
func loopContext(stop, uaClosed <-chan struct{}) (ctx context.Context, cancel context.CancelFunc, stopping <-chan struct{}) {
	ctx, cancel = context.WithCancel(context.Background())
	ch := make(chan struct{})
	go func() {
		select {
		case <-stop:
		case <-uaClosed:
		case <-ctx.Done():
		}
		close(ch)
		cancel()
	}()
	return ctx, cancel, ch
}

// retryBounds applies the defaults of a loop's retry back-off: it starts
// at retry (zero: 5 s) and doubles up to maxRetry (below retry: 5 min, or
// retry if that is longer). Both are capped at a day to keep the doubling
// and the jitter arithmetic far from overflow.
func retryBounds(retry, maxRetry time.Duration) (time.Duration, time.Duration) {
	if retry <= 0 {
		retry = 5 * time.Second
	}
	if maxRetry < retry {
		maxRetry = max(5*time.Minute, retry)
	}
	return min(retry, 24*time.Hour), min(maxRetry, 24*time.Hour)
}
