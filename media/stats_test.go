package media

import (
	"testing"
	"time"
)

func TestReceptionLost(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint16
		lost uint64
	}{
		{"in order", []uint16{1, 2, 3, 4}, 0},
		{"gap", []uint16{1, 2, 5, 6}, 2},
		{"reordered", []uint16{1, 3, 2, 4}, 0},
		{"wrap", []uint16{65534, 65535, 0, 1}, 0},
		{"gap across wrap", []uint16{65534, 1, 2}, 2},
		{"duplicates never make it negative", []uint16{1, 1, 1, 2}, 0},
		{"late packet fills a gap", []uint16{10, 12, 13, 11}, 0},
		{"restart confirmed by two packets", []uint16{1, 2, 3, 40000, 40001, 40002}, 0},
	}
	for _, tt := range tests {
		var r receptionStats
		for _, s := range tt.seqs {
			r.updateSeq(s)
		}
		if got := r.lost(); got != tt.lost {
			t.Errorf("%s: lost = %d, want %d", tt.name, got, tt.lost)
		}
	}
}

func TestReceptionJitter(t *testing.T) {
	// Packets every 20 ms with timestamps 160 apart: no jitter.
	var r receptionStats
	for i := range 100 {
		r.updateJitter(time.Duration(i)*20*time.Millisecond, uint32(1000+160*i), 8000)
	}
	if j := r.jitterDuration(); j != 0 {
		t.Errorf("steady stream: jitter %v", j)
	}
	// Arrivals alternately 5 ms early and late: the estimate converges
	// towards the mean deviation of 10 ms between neighbours.
	r = receptionStats{}
	for i := range 500 {
		at := time.Duration(i) * 20 * time.Millisecond
		if i%2 == 1 {
			at += 10 * time.Millisecond
		}
		r.updateJitter(at, uint32(160*i), 8000)
	}
	if j := r.jitterDuration(); j < 9*time.Millisecond || j > 11*time.Millisecond {
		t.Errorf("alternating 10 ms: jitter %v, want about 10ms", j)
	}
}
