package media

import (
	"fmt"
	"testing"
)

// jbPush pushes a packet whose one-byte payload is its sequence number's
// low byte.
func jbPush(j *jitterBuffer, seq uint16) pushResult {
	return j.Push(seq, uint32(seq)*160, 0, []byte{byte(seq), byte(seq >> 8)}, false)
}

// jbDrain pops n slots and describes them: the sequence number for a
// packet, "-" for a missing one, "." while buffering.
func jbDrain(j *jitterBuffer, n int) string {
	var out []string
	buf := make([]byte, maxPayload)
	for range n {
		k, _, res := j.Pop(buf)
		switch res {
		case popPacket:
			if k != 2 {
				out = append(out, "?")
				continue
			}
			out = append(out, fmt.Sprint(uint16(buf[0])|uint16(buf[1])<<8))
		case popMissing:
			out = append(out, "-")
		case popBuffering:
			out = append(out, ".")
		}
	}
	return fmt.Sprint(out)
}

func TestJitterInOrder(t *testing.T) {
	j := newJitterBuffer(3)
	if got := jbDrain(j, 1); got != "[.]" {
		t.Errorf("empty buffer: %s", got)
	}
	jbPush(j, 100)
	jbPush(j, 101)
	if got := jbDrain(j, 1); got != "[.]" {
		t.Errorf("below depth: %s", got)
	}
	jbPush(j, 102)
	if got := jbDrain(j, 1); got != "[100]" {
		t.Errorf("at depth: %s", got)
	}
	jbPush(j, 103)
	jbPush(j, 104)
	if got := jbDrain(j, 5); got != "[101 102 103 104 .]" {
		t.Errorf("drain: %s", got)
	}
	if j.late != 0 || j.duplicates != 0 {
		t.Errorf("late %d dup %d", j.late, j.duplicates)
	}
}

func TestJitterReordered(t *testing.T) {
	j := newJitterBuffer(3)
	for _, s := range []uint16{11, 10, 13, 12, 14, 16, 15} {
		if r := jbPush(j, s); r != pushStored {
			t.Errorf("push %d = %v", s, r)
		}
	}
	if got := jbDrain(j, 8); got != "[10 11 12 13 14 15 16 .]" {
		t.Errorf("got %s", got)
	}
}

func TestJitterDuplicates(t *testing.T) {
	j := newJitterBuffer(2)
	jbPush(j, 1)
	if r := jbPush(j, 1); r != pushDuplicate {
		t.Errorf("duplicate push = %v", r)
	}
	jbPush(j, 2)
	jbPush(j, 2)
	if got := jbDrain(j, 3); got != "[1 2 .]" {
		t.Errorf("got %s", got)
	}
	// A copy of a packet already played is a duplicate too.
	if r := jbPush(j, 2); r != pushDuplicate {
		t.Errorf("duplicate of a played packet = %v", r)
	}
	if j.duplicates != 3 || j.late != 0 {
		t.Errorf("duplicates %d late %d, want 3 0", j.duplicates, j.late)
	}
}

func TestJitterLate(t *testing.T) {
	j := newJitterBuffer(2)
	jbPush(j, 50)
	jbPush(j, 52)
	jbPush(j, 53)
	// 51 is missing when its turn comes.
	if got := jbDrain(j, 2); got != "[50 -]" {
		t.Errorf("got %s", got)
	}
	if r := jbPush(j, 51); r != pushLate {
		t.Errorf("push after playout point = %v", r)
	}
	if r := jbPush(j, 49); r != pushLate {
		t.Errorf("push of an older packet = %v", r)
	}
	if got := jbDrain(j, 3); got != "[52 53 .]" {
		t.Errorf("got %s", got)
	}
	if j.late != 2 {
		t.Errorf("late = %d, want 2", j.late)
	}
}

func TestJitterEarlyReorderBeforePlayout(t *testing.T) {
	// Before playout starts, an earlier packet moves the start back.
	j := newJitterBuffer(3)
	jbPush(j, 7)
	jbPush(j, 5)
	jbPush(j, 6)
	if got := jbDrain(j, 4); got != "[5 6 7 .]" {
		t.Errorf("got %s", got)
	}
}

func TestJitterSequenceWrap(t *testing.T) {
	j := newJitterBuffer(3)
	for _, s := range []uint16{65533, 65534, 0, 65535, 1, 2} {
		if r := jbPush(j, s); r != pushStored {
			t.Errorf("push %d = %v", s, r)
		}
	}
	if got := jbDrain(j, 7); got != "[65533 65534 65535 0 1 2 .]" {
		t.Errorf("got %s", got)
	}
	// Packets from before the wrap are now late, after it not.
	if r := jbPush(j, 65530); r != pushLate {
		t.Errorf("old packet across the wrap = %v", r)
	}
	if r := jbPush(j, 3); r != pushStored {
		t.Errorf("next packet = %v", r)
	}
}

func TestJitterLoss(t *testing.T) {
	j := newJitterBuffer(5)
	for _, s := range []uint16{1, 2, 4, 5, 8, 9} {
		jbPush(j, s)
	}
	if got := jbDrain(j, 10); got != "[1 2 - 4 5 - - 8 9 .]" {
		t.Errorf("got %s", got)
	}
}

func TestJitterUnderrunRebuffers(t *testing.T) {
	j := newJitterBuffer(2)
	jbPush(j, 1)
	jbPush(j, 2)
	if got := jbDrain(j, 3); got != "[1 2 .]" {
		t.Errorf("got %s", got)
	}
	jbPush(j, 3)
	if got := jbDrain(j, 1); got != "[.]" {
		t.Errorf("after underrun it must refill to its depth: %s", got)
	}
	jbPush(j, 4)
	if got := jbDrain(j, 3); got != "[3 4 .]" {
		t.Errorf("got %s", got)
	}
}

func TestJitterSkipsTelephoneEvents(t *testing.T) {
	j := newJitterBuffer(2)
	jbPush(j, 1)
	j.Push(2, 320, 101, []byte{1, 0, 0, 160}, true)
	j.Push(3, 320, 101, []byte{1, 0, 0, 160}, true)
	jbPush(j, 4)
	if got := jbDrain(j, 3); got != "[1 4 .]" {
		t.Errorf("got %s", got)
	}
}

func TestJitterJumpResyncs(t *testing.T) {
	j := newJitterBuffer(2)
	jbPush(j, 10)
	jbPush(j, 11)
	jbDrain(j, 1)
	// A sender restart far away: the first packet is dropped, the second
	// confirms the new sequence.
	if r := jbPush(j, 30000); r != pushLate {
		t.Errorf("first far packet = %v", r)
	}
	if r := jbPush(j, 30001); r != pushReset {
		t.Errorf("confirming packet = %v", r)
	}
	jbPush(j, 30002)
	if got := jbDrain(j, 3); got != "[30001 30002 .]" {
		t.Errorf("got %s", got)
	}
}

func TestJitterTrimsExcessDelay(t *testing.T) {
	j := newJitterBuffer(2)
	for s := uint16(0); s < 10; s++ {
		jbPush(j, s)
	}
	// 10 packets span more than 2*depth+2: the oldest are dropped.
	if got := jbDrain(j, 3); got != "[8 9 .]" {
		t.Errorf("got %s", got)
	}
	if j.late != 8 {
		t.Errorf("late = %d, want 8", j.late)
	}
}

func TestJitterRejectsOversizedPayload(t *testing.T) {
	j := newJitterBuffer(1)
	if r := j.Push(1, 0, 0, make([]byte, maxPayload+1), false); r != pushTooLarge {
		t.Errorf("oversized payload = %v", r)
	}
	if j.Len() != 0 {
		t.Error("oversized payload stored")
	}
}
