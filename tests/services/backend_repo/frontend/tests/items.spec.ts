import { test, expect } from '@playwright/test';

test('lists items', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading')).toHaveText('Items');
});
