/**
 * The worker's step pacing (engine/worker/step-pacing.ts) on an injected
 * clock: steps start right after a request or after a spell without
 * requests or steps, one per gap between requests.
 */
import { describe, expect, it } from "vitest";
import { JUST_SERVED_MS, STEP_SPACING_MS, StepPacing } from "../engine/worker/step-pacing.ts";

describe("step pacing", () => {
  it("lets a loop that has served nothing yet step at once", () => {
    expect(new StepPacing().mayStep(0)).toBe(true);
  });

  it("allows one step right after a request, then waits for the next request", () => {
    const pacing = new StepPacing();
    pacing.served(10);
    expect(pacing.mayStep(10.001)).toBe(true);
    pacing.stepped(10.05);
    expect(pacing.mayStep(10.051)).toBe(false); // a second step in the same gap would run into the next request
    expect(pacing.mayStep(10.19)).toBe(false);
    pacing.served(10.2);
    expect(pacing.mayStep(10.201)).toBe(true);
  });

  it("does not start a step late in a gap: work that arrives after the request waits for the next one", () => {
    const pacing = new StepPacing();
    pacing.served(5);
    expect(pacing.mayStep(5 + JUST_SERVED_MS)).toBe(true);
    expect(pacing.mayStep(5 + JUST_SERVED_MS + 0.001)).toBe(false);
    expect(pacing.mayStep(5.15)).toBe(false);
  });

  it("steps every STEP_SPACING_MS when no request comes", () => {
    const pacing = new StepPacing();
    pacing.served(1);
    pacing.stepped(1.01);
    expect(pacing.spacedAt()).toBeCloseTo(1.01 + STEP_SPACING_MS, 9);
    expect(pacing.mayStep(1.01 + STEP_SPACING_MS - 0.001)).toBe(false);
    expect(pacing.mayStep(1.01 + STEP_SPACING_MS)).toBe(true);
    pacing.stepped(1.6);
    expect(pacing.mayStep(1.7)).toBe(false);
    expect(pacing.mayStep(1.6 + STEP_SPACING_MS)).toBe(true);
  });

  it("counts the spacing from the later of the last request and the last step", () => {
    const pacing = new StepPacing();
    pacing.stepped(2);
    pacing.served(2.3);
    pacing.stepped(2.305);
    expect(pacing.spacedAt()).toBeCloseTo(2.305 + STEP_SPACING_MS, 9);
    pacing.served(2.4); // a request after the step: the next step may follow it at once
    expect(pacing.mayStep(2.401)).toBe(true);
  });
});
