package sim

import "math/rand/v2"

// HoldModel is the classic "hold" benchmark of event-set implementations:
// Pending events are outstanding at all times; delivering one schedules its
// successor after an exponentially distributed hold with mean MeanHold. It
// measures the engine alone, and is the first runnable workload.
type HoldModel struct {
	e        *Engine
	id       HandlerID
	rng      *rand.Rand
	meanHold float64 // picoseconds
}

// NewHoldModel registers a hold model on e and schedules its pending
// events. Hold times come from the stream "hold/holds".
func NewHoldModel(e *Engine, pending int, meanHold Time) *HoldModel {
	m := &HoldModel{e: e, rng: e.Rand("hold/holds"), meanHold: float64(meanHold)}
	m.id = e.Register(m)
	for i := 0; i < pending; i++ {
		e.After(m.hold(), m.id, Event{A: int32(i)})
	}
	return m
}

func (m *HoldModel) hold() Time { return Time(m.rng.ExpFloat64() * m.meanHold) }

// HandleEvent schedules the event's successor.
func (m *HoldModel) HandleEvent(now Time, ev Event) {
	m.e.Schedule(now+m.hold(), m.id, ev)
}
