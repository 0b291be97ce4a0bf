const format = require('../utils/format');

test('money: ¥ with two decimals from the API decimal strings', () => {
  expect(format.money('12')).toBe('¥12.00');
  expect(format.money('1234.5')).toBe('¥1234.50');
  expect(format.money(null)).toBe('—');
});

test('dates in local time', () => {
  const d = new Date(2024, 4, 1, 9, 5);
  expect(format.date(d.toISOString())).toBe('2024-05-01');
  expect(format.dateTime(d.toISOString())).toBe('2024-05-01 09:05');
  expect(format.date(null)).toBe('');
});

test('dimensions D×T×H', () => {
  expect(format.dimensions({ outer_diameter_mm: '400.00', thickness_mm: '40', bore_mm: '127' })).toBe('400×40×127');
  expect(format.dimensions({})).toBe('');
});
