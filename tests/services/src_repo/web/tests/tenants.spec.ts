import { describe, it } from 'vitest';

describe('tenants', () => { it('renders', () => {}); });
