package peertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errClosed is returned once a control connection has gone away.
var errClosed = errors.New("control connection closed")

// maxNetstring bounds one ctrl_tcp message.
const maxNetstring = 4 << 20

// ctrlClient speaks baresip's ctrl_tcp protocol: netstring-framed JSON
// commands out; replies (matched by token) and unsolicited events in.
type ctrlClient struct {
	conn net.Conn
	wmu  sync.Mutex // serialises writes

	mu       sync.Mutex
	seq      int
	pending  map[string]chan Response
	events   []Event
	consumed []bool
	changed  chan struct{} // closed and replaced whenever events grow
	err      error         // why the reader stopped
	done     chan struct{} // closed when the reader has stopped
}

func newCtrlClient(conn net.Conn) *ctrlClient {
	c := &ctrlClient{
		conn:    conn,
		pending: map[string]chan Response{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go c.read()
	return c
}

// readNetstring reads one "<len>:<data>," frame.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	var n int
	digits := 0
	for {
		ch, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if ch == ':' {
			break
		}
		if ch < '0' || ch > '9' || digits > 9 {
			return nil, fmt.Errorf("bad netstring length byte %q", ch)
		}
		n = n*10 + int(ch-'0')
		digits++
	}
	if digits == 0 || n > maxNetstring {
		return nil, fmt.Errorf("bad netstring length %d", n)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("netstring not terminated by ','")
	}
	return buf[:n], nil
}

func (c *ctrlClient) read() {
	defer close(c.done)
	r := bufio.NewReader(c.conn)
	var err error
	for {
		var msg []byte
		msg, err = readNetstring(r)
		if err != nil {
			break
		}
		c.dispatch(msg)
	}
	c.mu.Lock()
	c.err = err
	for tok, ch := range c.pending {
		close(ch)
		delete(c.pending, tok)
	}
	close(c.changed)
	c.changed = nil
	c.mu.Unlock()
}

// jsonString returns a JSON value as a string: strings unquoted, anything
// else as its JSON text.
func jsonString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func (c *ctrlClient) dispatch(msg []byte) {
	var m map[string]json.RawMessage
	if json.Unmarshal(msg, &m) != nil {
		return
	}
	if string(m["response"]) == "true" {
		r := Response{OK: string(m["ok"]) == "true", Data: jsonString(m["data"]), Token: jsonString(m["token"])}
		c.mu.Lock()
		ch := c.pending[r.Token]
		delete(c.pending, r.Token)
		c.mu.Unlock()
		if ch != nil {
			ch <- r // buffered
		}
		return
	}
	if string(m["event"]) == "true" {
		ev := Event{
			Type:       jsonString(m["type"]),
			Class:      jsonString(m["class"]),
			AccountAOR: jsonString(m["accountaor"]),
			PeerURI:    jsonString(m["peeruri"]),
			ID:         jsonString(m["id"]),
			Param:      jsonString(m["param"]),
			Raw:        string(msg),
		}
		c.mu.Lock()
		c.events = append(c.events, ev)
		c.consumed = append(c.consumed, false)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

func (c *ctrlClient) command(ctx context.Context, cmd, params string) (Response, error) {
	c.mu.Lock()
	if c.changed == nil {
		err := c.err
		c.mu.Unlock()
		return Response{}, fmt.Errorf("%w: %v", errClosed, err)
	}
	c.seq++
	tok := "pt" + strconv.Itoa(c.seq)
	ch := make(chan Response, 1)
	c.pending[tok] = ch
	c.mu.Unlock()
	drop := func() {
		c.mu.Lock()
		delete(c.pending, tok)
		c.mu.Unlock()
	}

	body, err := json.Marshal(map[string]string{"command": cmd, "params": params, "token": tok})
	if err != nil {
		drop()
		return Response{}, err
	}
	frame := strconv.Itoa(len(body)) + ":" + string(body) + ","
	c.wmu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetWriteDeadline(dl)
	} else {
		_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	}
	_, err = io.WriteString(c.conn, frame)
	c.wmu.Unlock()
	if err != nil {
		drop()
		return Response{}, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return Response{}, errClosed
		}
		return r, nil
	case <-ctx.Done():
		drop()
		return Response{}, ctx.Err()
	}
}

// waitEvent returns the earliest unreturned event of type typ.
func (c *ctrlClient) waitEvent(ctx context.Context, typ string) (Event, error) {
	for {
		c.mu.Lock()
		for i, ev := range c.events {
			if !c.consumed[i] && ev.Type == typ {
				c.consumed[i] = true
				c.mu.Unlock()
				return ev, nil
			}
		}
		changed, err := c.changed, c.err
		c.mu.Unlock()
		if changed == nil {
			return Event{}, fmt.Errorf("%w: %v", errClosed, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// waitEventAfter returns the first event of type typ at index >= after.
func (c *ctrlClient) waitEventAfter(ctx context.Context, after int, typ string) (Event, int, error) {
	for {
		c.mu.Lock()
		for i := max(after, 0); i < len(c.events); i++ {
			if c.events[i].Type == typ {
				ev := c.events[i]
				c.mu.Unlock()
				return ev, i, nil
			}
		}
		changed, err := c.changed, c.err
		c.mu.Unlock()
		if changed == nil {
			return Event{}, -1, fmt.Errorf("%w: %v", errClosed, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, -1, ctx.Err()
		}
	}
}

func (c *ctrlClient) snapshot() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// close closes the connection and waits for the reader to stop.
func (c *ctrlClient) close() {
	_ = c.conn.Close()
	<-c.done
}

// consClient holds baresip's cons TCP connection: keys out, text in.
type consClient struct {
	conn net.Conn
	wmu  sync.Mutex
	out  *logBuffer

	mu      sync.Mutex
	changed chan struct{}
	done    chan struct{}
}

func newConsClient(conn net.Conn) *consClient {
	c := &consClient{conn: conn, out: newLogBuffer(64 << 10), changed: make(chan struct{}), done: make(chan struct{})}
	go c.read()
	return c
}

func (c *consClient) read() {
	defer close(c.done)
	buf := make([]byte, 4096)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 {
			_, _ = c.out.Write(buf[:n])
			c.mu.Lock()
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	c.mu.Lock()
	close(c.changed)
	c.changed = nil
	c.mu.Unlock()
}

func (c *consClient) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(c.conn, s)
	return err
}

func (c *consClient) output() string { return c.out.String() }

func (c *consClient) waitFor(ctx context.Context, substr string) error {
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		if strings.Contains(c.out.String(), substr) {
			return nil
		}
		if changed == nil {
			return fmt.Errorf("cons output %q: %w", substr, errClosed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("cons output %q: %w", substr, ctx.Err())
		}
	}
}

func (c *consClient) close() {
	_ = c.conn.Close()
	<-c.done
}
